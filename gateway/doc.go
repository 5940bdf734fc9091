// Package gateway is the SMS network between senders and simulated phones.
// Every message, MIIT's or anyone's, goes through it: it draws the delay of
// the fault profile, applies the network's faults (drops, spam filing) and
// each phone's profile (spam filter, suspended, unreachable), stores the
// message in the phone's inbox or blocked folder, and fans each delivery
// out live to whoever watches that phone, in this process or another one
// on the same Redis.
package gateway
