// Package simulator holds what every part of smsim shares: the simulated
// clock, the durable scheduler of future events, the fault profile, the
// seeded source of random draws and the naming of Redis keys. All of its
// state lives in Redis, so that several processes on one Redis agree on
// simulated time and carry out each scheduled event once.
package simulator
