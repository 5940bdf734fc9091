package load

import (
	"testing"
	"time"
)

// SetCallTimeout shortens CallTimeout for the test t: a call that does not
// answer makes its error sooner.
func SetCallTimeout(t testing.TB, d time.Duration) {
	old := callTimeout
	callTimeout = d
	t.Cleanup(func() { callTimeout = old })
}
