// Package core is the ground every part of smsim stands on: the simulated
// clock, the durable scheduler of jobs, the fault profile and its delay
// models, the event log and its live feed, the registries of the store's
// keys (KEYS.md) and of the kinds of events, the prelude of every Lua
// script (NewScript), the seeded source of random draws, and the errors
// that carry an HTTP status. All of its state lives in Redis, so that
// several processes on one Redis agree on simulated time and carry out
// each scheduled job once.
//
// core imports no other smsim package: the domain (gateway, miit) and the
// assembled world (package simulator) stand on it, never the other way.
package core
