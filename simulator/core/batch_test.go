package core_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
	"smsim/simulator/core/redisstore"
	"smsim/simulator/core/testkit"
)

// spinArgs are the arguments of spin: an answer to give back, and how
// long to count first.
type spinArgs struct {
	I    int `json:"i"`
	Spin int `json:"spin"`
}

// spin counts to args.spin, so that calls made at once overlap, and
// answers args.i: each call's own answer.
var spin = core.NewScript[spinArgs](`
local n = 0
for i = 1, args.spin do n = n + i end
return {args.i, n}
`)

// pipelines is a hook that notes the size of each pipeline of script
// calls a client sends, and whether a call came with the context its
// caller made it with (a value under callerKey).
type pipelines struct {
	mu       sync.Mutex
	sizes    []int
	ownCtx   atomic.Int64 // calls that came with their caller's context
	otherCtx atomic.Int64 // and with another (a batch's)
}

type callerKey struct{}

func (p *pipelines) DialHook(next redis.DialHook) redis.DialHook { return next }

func (p *pipelines) note(ctx context.Context) {
	if ctx.Value(callerKey{}) != nil {
		p.ownCtx.Add(1)
	} else {
		p.otherCtx.Add(1)
	}
}

func (p *pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if _, ok := testkit.ScriptCall(cmd); ok {
			p.note(ctx)
		}
		return next(ctx, cmd)
	}
}

func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, cmd := range cmds {
			if _, ok := testkit.ScriptCall(cmd); ok {
				n++
				p.note(ctx)
			}
		}
		p.mu.Lock()
		p.sizes = append(p.sizes, n)
		p.mu.Unlock()
		return next(ctx, cmds)
	}
}

// largest answers the most script calls one pipeline carried.
func (p *pipelines) largest() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	most := 0
	for _, n := range p.sizes {
		most = max(most, n)
	}
	return most
}

// storeClient answers a client of the test's store over TCP, a real Redis
// (one server or a cluster) or a miniredis, with the options of smsim's
// store, its script calls batched under load (core.ScriptBatches, as
// OpenStore makes one) or not.
func storeClient(t *testing.T, batched bool) redis.UniversalClient {
	t.Helper()
	var c redis.UniversalClient
	if testkit.RealRedis() {
		var err error
		c, err = redisstore.OpenWith(testkit.StartRedis(t).URL, func(o *redis.Options) {
			if core.StoreOptions(o, testkit.StoreTimeout); batched {
				o.AutoPipelineOptions = core.ScriptBatches()
			}
		}, func(o *redis.ClusterOptions) {
			if core.StoreClusterOptions(o, testkit.StoreTimeout); batched {
				o.AutoPipelineOptions = core.ScriptBatches()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		o := core.StoreOptions(&redis.Options{Addr: miniredis.RunT(t).Addr()}, testkit.StoreTimeout)
		if batched {
			o.AutoPipelineOptions = core.ScriptBatches()
		}
		c = redis.NewClient(o)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Script calls that goroutines make at once share round trips, each
// answered its own answer, on a client made with ScriptBatches (a real
// store's); on one made without (the embedded store's), each call goes in
// a round trip of its own.
func TestScriptCallsShareRoundTripsUnderLoad(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			c := storeClient(t, batched)
			hook := &pipelines{}
			c.AddHook(hook)
			ctx := context.WithValue(context.Background(), callerKey{}, true)
			const callers, calls = 16, 20
			errs := make(chan error, callers)
			for g := range callers {
				go func() {
					for i := range calls {
						want := g*calls + i
						out, err := spin.Run(ctx, c, nil, spinArgs{I: want, Spin: 20_000}).Int64Slice()
						if err != nil {
							errs <- err
							return
						}
						if out[0] != int64(want) {
							errs <- fmt.Errorf("call %d answered %d", want, out[0])
							return
						}
					}
					errs <- nil
				}()
			}
			for range callers {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			most := hook.largest()
			if batched && most < 2 {
				t.Errorf("no pipeline carried more than %d script calls of %d made by %d goroutines at once", most, callers*calls, callers)
			}
			if !batched && (most > 0 || hook.otherCtx.Load() > 0) {
				t.Errorf("a client without batches sent %d script calls in one pipeline, %d without their caller's context", most, hook.otherCtx.Load())
			}
			if got := hook.ownCtx.Load() + hook.otherCtx.Load(); got < callers*calls {
				t.Errorf("the hook saw %d script calls, want at least %d", got, callers*calls)
			}
		})
	}
}

// A batch runs on a context of its own: a batched call that was sent and
// got no answer in time marks its caller's Outcome all the same, and a
// call whose context has a deadline goes alone, on that context, as does a
// call of large arguments.
func TestBatchedCallsKeepTheirCallersContext(t *testing.T) {
	const timeout = 200 * time.Millisecond
	o := core.StoreOptions(&redis.Options{Addr: silentRedis(t)}, timeout)
	o.AutoPipelineOptions = core.ScriptBatches()
	c := redis.NewClient(o)
	defer c.Close()
	hook := &pipelines{}
	c.AddHook(hook)
	c.AddHook(core.StoreDeadline{Timeout: timeout})
	release := core.HoldScriptCall() // another call on its way: the next one goes in a batch
	defer release()

	ctx, outcome := core.WithOutcome(context.WithValue(context.Background(), callerKey{}, true))
	err := spin.Run(ctx, c, nil, spinArgs{I: 1}).Err()
	if err == nil || !core.StoreUnavailable(err) {
		t.Fatalf("a call to a store that never answers: %v, want a timeout", err)
	}
	if hook.otherCtx.Load() != 1 || hook.ownCtx.Load() != 0 {
		t.Fatalf("the call went with its caller's context %d times, with another %d: want it batched", hook.ownCtx.Load(), hook.otherCtx.Load())
	}
	if !outcome.Unknown() {
		t.Error("a batched write sent and unanswered left its caller's Outcome known")
	}

	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	spin.Run(dctx, c, nil, spinArgs{I: 2})
	if hook.ownCtx.Load() != 1 {
		t.Errorf("a call with a deadline of its own went with its caller's context %d times, want once: alone", hook.ownCtx.Load())
	}

	big := strings.Repeat("x", 20<<10)
	spin.RunWith(ctx, c, nil, spinArgs{I: 3}, []string{big})
	if hook.ownCtx.Load() != 2 {
		t.Errorf("a call of %d bytes of arguments went with its caller's context %d times in all, want twice: alone", len(big), hook.ownCtx.Load())
	}
	spin.RunWith(ctx, c, nil, spinArgs{I: 4}, []string{"small"})
	if hook.otherCtx.Load() != 2 {
		t.Errorf("a small call went in batches %d times in all, want twice", hook.otherCtx.Load())
	}
}
