package load

import (
	"context"
	"math"
	"sync"
	"time"

	"smsim/simulator/client"
)

// simClock follows the namespace's simulated clock from the driver's side:
// it reads it once a period and reckons in between from its scale, so that
// a person acts at the simulated time their Mind planned without asking
// the server what time it is. Its real time is the machine's, whatever the
// Config's Now.
//
// It sets the run's scale once, at the start; then it only reads the clock
// (GET /admin/v1/clock), which writes nothing: the server's scheduler
// carries out each job when it falls due at the clock's scale.
type simClock struct {
	api   *client.Client
	scale float64 // the run's

	mu     sync.Mutex
	simAt  time.Time         // the simulated time read…
	realAt time.Time         // …at this real time
	state  client.ClockState // as read
}

// start runs the clock at the run's scale and reads it.
func (c *simClock) start(ctx context.Context) error {
	return c.set(ctx, client.ClockSettings{Scale: &c.scale, Paused: new(false)})
}

// set sets the clock and reads it, taking the simulated time it answers
// to stand at the middle of the request.
func (c *simClock) set(ctx context.Context, s client.ClockSettings) error {
	before := time.Now()
	st, err := c.api.SetClock(ctx, s)
	if err != nil {
		return err
	}
	after := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.simAt, c.realAt, c.state = st.Now, before.Add(after.Sub(before)/2), st
	return nil
}

// read reads the clock, taking the simulated time it answers to stand at
// the middle of the request.
func (c *simClock) read(ctx context.Context) error {
	before := time.Now()
	st, err := c.api.Clock(ctx)
	if err != nil {
		return err
	}
	after := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.simAt, c.realAt, c.state = st.Now, before.Add(after.Sub(before)/2), st
	return nil
}

// run reads the clock every period until ctx ends; a read under way when it
// ends is finished, not cut short. A read that fails keeps the last.
func (c *simClock) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			c.read(rctx)
			cancel()
		}
	}
}

// now reckons the simulated time.
func (c *simClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Paused {
		return c.simAt
	}
	return c.simAt.Add(time.Duration(float64(time.Since(c.realAt)) * c.state.Scale))
}

// until answers how long, in real time, until the simulated time at; 0
// once it has come. On a paused clock it answers the period between two
// reads: look again then.
func (c *simClock) until(at time.Time) time.Duration {
	now := c.now()
	if !at.After(now) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Paused || c.state.Scale <= 0 {
		return clockEvery
	}
	if w := float64(at.Sub(now)) / c.state.Scale; w < math.MaxInt64-1 {
		return time.Duration(w) + 1
	}
	return math.MaxInt64 // however slow the clock, never a wait that wraps into the past
}
