package core

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core/redisstore"
)

// DefaultStoreTimeout bounds each call to the store unless configured: a
// call that has no answer by then fails, and the request that made it
// answers 503 instead of waiting for a Redis that stalls.
const DefaultStoreTimeout = 2 * time.Second

// DefaultPoolSize is how many connections to Redis a client of the store
// opens at most (a cluster's, to each node), unless its options say (a
// URL's pool_size): connections are made as commands need them, so an idle
// smsim holds few. go-redis's own default, ten a CPU, made the commands of
// a loaded smsim wait for a connection rather than for Redis: at 500 flows
// a second offered to a two-CPU machine that finished about 240, twenty
// connections failed 94% of the flows with 503s after waiting out the
// store timeout in the pool (smsim_redis_pool_timeouts_total), 256 failed
// 0.6%.
const DefaultPoolSize = 256

// StoreBufferSize is the size of the read buffer, and of the write buffer,
// of each connection of the store's pool, unless its options say.
// go-redis's own default is 32 KiB each: 64 KiB a connection, 16 MiB for a
// full pool of DefaultPoolSize, which a loaded smsim fills. The store's replies and a script's arguments
// are mostly well under 4 KiB; a larger one takes more than one read or
// write. The pipelines' own pool (go-redis's PipelinePoolSize, 10
// connections) keeps its larger buffers.
const StoreBufferSize = 4 << 10

// StoreOptions makes o the options of a client of smsim's store, and
// answers it:
//
//   - it never sends a command twice (MaxRetries -1). The client library
//     would otherwise send a command again after a timeout, while the first
//     copy waits in a stalled Redis, and a script that writes would run
//     twice: two orders for one submission. A call that fails fails once,
//     and its caller decides.
//   - a dial that fails is not tried again within the call;
//   - every wait of a call — for a connection of the pool, to dial, to
//     write, to read — is bounded by timeout (DefaultStoreTimeout when 0),
//     and by the deadline of the call's context (ContextTimeoutEnabled),
//     which StoreDeadline sets;
//   - its pool holds up to DefaultPoolSize connections, unless o says;
//   - each connection's buffers are StoreBufferSize, unless o says.
func StoreOptions(o *redis.Options, timeout time.Duration) *redis.Options {
	if timeout <= 0 {
		timeout = DefaultStoreTimeout
	}
	o.MaxRetries = -1
	o.DialerRetries = 1 // a refused connection is refused at once; the next call dials again
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	o.ReadBufferSize, o.WriteBufferSize = storeBuffers(o.ReadBufferSize, o.WriteBufferSize)
	o.DialTimeout = timeout
	o.ReadTimeout = timeout
	o.WriteTimeout = timeout
	o.PoolTimeout = timeout
	o.ContextTimeoutEnabled = true
	return o
}

// storeBuffers answers the sizes of a connection's read and write buffers:
// those given, StoreBufferSize for each not given.
func storeBuffers(read, write int) (int, int) {
	if read == 0 {
		read = StoreBufferSize
	}
	if write == 0 {
		write = StoreBufferSize
	}
	return read, write
}

// ClusterReload is how often at most a client of a Redis Cluster reads
// its slots again while it sends commands (StoreClusterOptions).
const ClusterReload = 2 * time.Second

// StoreClusterOptions makes o the options of a client of smsim's store on
// a Redis Cluster, as StoreOptions does for one server, and answers it. The
// cluster's client also follows no redirect (MaxRedirects -1): it would
// send a command again on a timeout as on a MOVED; after a reshard, the
// call that meets a MOVED fails, and the client reloads the cluster's slots
// for the next. A master that dies sends no MOVED: the client reads the
// slots again every ClusterReload while commands flow (go-redis's default
// is a minute), so that it finds the replica that took over soon after the
// cluster promoted it.
func StoreClusterOptions(o *redis.ClusterOptions, timeout time.Duration) *redis.ClusterOptions {
	if timeout <= 0 {
		timeout = DefaultStoreTimeout
	}
	o.MaxRetries = -1
	o.MaxRedirects = -1
	if o.ClusterStateReloadInterval == 0 {
		o.ClusterStateReloadInterval = ClusterReload
	}
	o.DialerRetries = 1
	if o.PoolSize == 0 {
		o.PoolSize = DefaultPoolSize
	}
	o.ReadBufferSize, o.WriteBufferSize = storeBuffers(o.ReadBufferSize, o.WriteBufferSize)
	o.DialTimeout = timeout
	o.ReadTimeout = timeout
	o.WriteTimeout = timeout
	o.PoolTimeout = timeout
	o.ContextTimeoutEnabled = true
	return o
}

// OpenStore answers a client of the store rawURL names (one server or a
// Redis Cluster: redisstore.Open) with the options of smsim's store
// (StoreOptions, StoreClusterOptions), its script calls batched under load
// (ScriptBatches). It does not connect.
func OpenStore(rawURL string, timeout time.Duration) (redis.UniversalClient, error) {
	return redisstore.OpenWith(rawURL,
		func(o *redis.Options) { StoreOptions(o, timeout).AutoPipelineOptions = ScriptBatches() },
		func(o *redis.ClusterOptions) { StoreClusterOptions(o, timeout).AutoPipelineOptions = ScriptBatches() })
}

// ScriptBatches answers the autopipelining of a client of a real store
// (redis.Options.AutoPipelineOptions): go-redis's blocking face, one
// stream of batches, through which the script calls made while another is
// on its way go (runBatched). A client made without it sends each call on
// a connection of its own.
func ScriptBatches() *redis.AutoPipelineOptions {
	return redis.DefaultBlockingAutoPipelineOptions()
}

// NeverRetries tells whether c is a client of smsim's store as
// StoreOptions makes one: it sends no command twice. A client of a type it
// cannot tell passes.
func NeverRetries(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().MaxRetries <= 0
	case *redis.ClusterClient:
		return c.Options().MaxRetries <= 0 && c.Options().MaxRedirects <= 0
	}
	return true
}

// blocking are the commands that wait on purpose, each for a time of its
// own (BLOCK, a timeout argument): StoreDeadline leaves them their time.
var blocking = map[string]bool{
	"xread": true, "xreadgroup": true, "blpop": true, "brpop": true, "blmove": true, "brpoplpush": true,
	"bzpopmin": true, "bzpopmax": true, "blmpop": true, "bzmpop": true, "wait": true, "waitaof": true,
}

// StoreDeadline is a hook of a store's client that gives each call —
// command or pipeline — at most Timeout from its start, its wait for a
// connection included, unless its context ends sooner; blocking commands
// (XREAD BLOCK, …) keep the time they ask for. It marks the call's
// Outcome (WithOutcome) when a write may have been carried out unanswered.
type StoreDeadline struct{ Timeout time.Duration }

func (h StoreDeadline) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h StoreDeadline) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if blocking[strings.ToLower(cmd.Name())] {
			return next(ctx, cmd)
		}
		bounded, cancel := h.bound(ctx)
		defer cancel()
		err := next(bounded, cmd)
		noteOutcome(ctx, cmd, err)
		return err
	}
}

func (h StoreDeadline) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if blocking[strings.ToLower(cmd.Name())] {
				return next(ctx, cmds)
			}
		}
		bounded, cancel := h.bound(ctx)
		defer cancel()
		err := next(bounded, cmds)
		for _, cmd := range cmds {
			noteOutcome(ctx, cmd, cmd.Err())
		}
		return err
	}
}

func (h StoreDeadline) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.Timeout <= 0 {
		return ctx, func() {}
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= h.Timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.Timeout)
}

// unavailable are the error replies of a Redis that cannot serve commands
// for now: loading its dataset, busy running a script, a cluster or
// replica not ready, out of memory.
var unavailable = []string{"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "READONLY", "NOREPLICAS", "OOM"}

// StoreUnavailable tells whether err says the store cannot serve for now —
// it cannot be reached, it does not answer in time, it is loading its
// dataset (LOADING), running a long script (BUSY), or the like — as
// opposed to a fault of smsim: the caller may try again later.
func StoreUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range unavailable {
			if strings.HasPrefix(msg, p+" ") || msg == p {
				return true
			}
		}
	}
	s := err.Error()
	return strings.Contains(s, "connection pool timeout") || strings.Contains(s, "client is closed") ||
		strings.Contains(s, "LOADING Redis is loading") || strings.Contains(s, "BUSY Redis is busy")
}
