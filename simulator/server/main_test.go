package server_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its tests: every
// server, world, websocket, long poll and webhook post a test starts is
// stopped by the time it ends. Run with SMSIM_TEST_SERVE set, the test
// binary is instead an smsim process of a test's own (serveForTest), which
// the test may kill.
func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		os.Exit(serveForTest())
	}
	goleak.VerifyTestMain(m)
}
