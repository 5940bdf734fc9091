package core

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/testkit"
)

// A run chained after another goes as soon as that one is answered, from
// the goroutine that read the answer; after one whose calls were lost on
// the way, it does not go at all. Whether it went is settled by the time
// the run before is seen answered: the loop is repeated so that a gap
// between the two shows.
func TestChainedRunGoesOnlyAfterAnAnsweredRun(t *testing.T) {
	ctx := context.Background()
	rdb := testkit.StartRedis(t).Client(t)
	for i := range 2000 {
		lost := i%2 == 1
		key := testkit.NewPrefix(t, "chain") + ":n"
		rdb.Del(ctx, key)
		run := func(broken bool) *stepRun {
			r := &stepRun{answered: make(chan struct{}), pipe: rdb.Pipeline()}
			r.cmds = []*redis.Cmd{r.pipe.Do(ctx, "INCR", key)}
			if broken {
				r.pipe = brokenPipe{r.pipe}
			}
			return r
		}
		first, second := run(lost), run(false)
		first.chain(ctx, second)
		go first.exec(ctx)
		<-first.answered // as runSteps waits: what became of second is final now
		if got := first.handedOn(); got == lost {
			t.Fatalf("calls lost %v: the run after went %v", lost, got)
		}
		if lost {
			if n, _ := rdb.Get(ctx, key).Int(); n != 0 {
				t.Fatalf("the store counted %d, want nothing sent", n)
			}
			continue
		}
		<-second.answered
		if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 2 {
			t.Fatalf("the store counted %d (%v), want both runs", n, err)
		}
		// chained after it was answered, a run goes at once
		third := run(false)
		first.chain(ctx, third)
		<-third.answered
		if n, err := rdb.Get(ctx, key).Int(); err != nil || n != 3 || !first.handedOn() {
			t.Fatalf("the store counted %d (%v), want the run chained late too", n, err)
		}
	}
}

// brokenPipe is a pipeline whose calls are lost on the way, as when the
// connection breaks.
type brokenPipe struct{ redis.Pipeliner }

func (p brokenPipe) Exec(ctx context.Context) ([]redis.Cmder, error) {
	err := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, c := range p.Cmds() {
		c.SetErr(err)
	}
	return p.Cmds(), err
}
