// Package webhook posts the events of a namespace's event log to the HTTP
// endpoints registered for them, signed, with retries, shared between the
// processes of the namespace.
//
// # Hooks
//
// A hook names a URL, the kinds of events it receives (DefaultEvents when
// it names none) and a secret. Only loopback hosts (localhost, 127.0.0.0/8,
// ::1) and the hosts given to the dispatcher (Config.AllowHosts, the
// --webhook-host flag) may receive webhooks: a simulator must not become a
// way to reach other machines. With Config.StrictLoopback (the binary's
// way), loopback is open only on the ports of AllowHosts' host:port
// entries; smsim's own address and its Redis's (Config.Deny) are never
// open. The default client enforces it again when it connects, on the
// address a name resolved to, so that a name that resolves elsewhere after
// registration (DNS rebinding) gets nothing. A namespace holds at most
// MaxHooks hooks. The hosts and ports open, and the client with its pool of
// connections, are a process's Network (NewNetwork): every namespace's
// dispatcher posts through the one it is given.
//
// # Reading the log
//
// The dispatchers of a namespace read its event log (the stream
// core.EventLog writes) through one consumer group, Group, each under
// a random consumer name, so that each event is read by one of them. The
// group is created at the end of the log when the first hook is registered,
// and each hook keeps the id of the newest event at its registration: a
// hook receives the events appended after Register returns, never older
// ones. A dispatcher acknowledges an event once it has posted it to every
// hook that receives it, or once a first wait (Config.FirstWait) has
// passed: a post still under way then finishes on its own, and a stand-in
// retry of it waits in the retry set meanwhile, due once the post must
// have ended, which the post removes as it records its outcome. An event
// that a dispatcher read and did not acknowledge within
// Config.ReclaimAfter (it died) is taken over by another, and posted again
// under the same delivery id.
//
// # Retries
//
// Any 2xx answer delivers; any other answer, a redirect (never followed), a
// connection error or a timeout fails the attempt. A failed attempt
// schedules the next one after Config.Backoff, up to Config.MaxAttempts.
// Retries wait in a Redis sorted set scored by their due time (real time,
// ms), each member holding what its post needs (hook id, delivery id,
// attempt, event), so that they survive a restart and any dispatcher makes
// them. A dispatcher claims due retries atomically, leased for a while: one
// whose dispatcher died is made again when the lease ends. A hook has at
// most eight retries claimed at once, by every dispatcher together, and a
// dispatcher waits for the retries it began up to the first wait before it
// claims more: a target slow to answer holds up its own retries, not the
// other hooks'. Every attempt adds an entry to the hook's log, which keeps
// the newest LogLen.
//
// # Posts and signatures
//
// A post is a JSON Payload: the delivery id (one per event and hook, the
// same in every attempt, for the receiver to drop repeats), the hook id,
// the attempt and the event as core.Record writes it. Its headers name
// the event's kind (X-Smsim-Event), the delivery id (X-Smsim-Delivery), the
// time of the attempt in unix seconds (X-Smsim-Timestamp) and the signature
// (X-Smsim-Signature): "sha256=" and the hex HMAC-SHA256, keyed with the
// hook's secret, of the timestamp, a dot and the body. Receivers check it
// with Verify, which also refuses a timestamp too far from their clock.
//
// # Keys
//
// The hooks, their logs and the retries are keys of the namespace
// (webhooks, webhooks:hook:<id>, webhooks:log:<id>, webhooks:retry,
// webhooks:inflight), listed with every other key of the store in
// simulator/core/KEYS.md.
package webhook
