package client

import (
	"testing"
	"time"
)

// WithWait of 0 or less is the default wait, not a wait with no end.
func TestWithWaitOfNothingIsTheDefault(t *testing.T) {
	c, err := New("http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, -time.Second} {
		if w := c.With(WithWait(d)).wait; w != DefaultWait {
			t.Errorf("WithWait(%s): waits %s, want %s", d, w, DefaultWait)
		}
	}
	if w := c.With(WithWait(time.Second)).wait; w != time.Second {
		t.Errorf("WithWait(1s): waits %s", w)
	}
}
