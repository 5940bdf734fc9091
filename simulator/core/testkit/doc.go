// Package testkit holds what smsim's own tests share: a Redis for each test
// (a miniredis of its own, or the real server of SMSIM_TEST_REDIS_URL under
// a key prefix of its own), a buffer that goroutines write log lines to, a
// wall clock that moves when told, a wait on a condition another goroutine
// makes true, a webhook target that records what it is sent, and the check
// that an input was refused with a 400 naming its field. It is for
// tests only: no package of the product imports it, and it imports no
// other smsim package but redisstore (which opens a Redis from a URL, one
// server or a cluster), so that the tests of every floor may use it.
package testkit
