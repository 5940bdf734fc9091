package core

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Outcome follows the calls a request makes to the store (WithOutcome):
// whether one that writes may have been carried out though its answer
// never came back — it was sent, then ran out of time or was cut off. A
// Redis that stalls carries such a call out when it runs again; smsim never
// sends it twice (StoreOptions), so whoever retries the request must know.
type Outcome struct{ unknown atomic.Bool }

type outcomeKey struct{}

// WithOutcome answers ctx with an Outcome that StoreDeadline, the hook of
// smsim's store, marks for every call made with it.
func WithOutcome(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// Unknown tells whether a call that writes may have been carried out
// without its answer.
func (o *Outcome) Unknown() bool { return o.unknown.Load() }

type repeatableKey struct{}

// Repeatable answers ctx for calls whose writes come to the same when
// carried out twice — a namespace's bookkeeping: making it, recording its
// use, the lifetime of its keys — and are not what the request changes:
// they leave its Outcome as it is.
func Repeatable(ctx context.Context) context.Context {
	return context.WithValue(ctx, repeatableKey{}, true)
}

// noteOutcome marks the Outcome of ctx, when it has one, if cmd writes and
// err leaves unknown whether Redis carried it out.
func noteOutcome(ctx context.Context, cmd redis.Cmder, err error) {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	if o == nil || !outcomeUnknown(err) || reads[strings.ToLower(cmd.Name())] || ctx.Value(repeatableKey{}) != nil {
		return
	}
	o.unknown.Store(true)
}

// outcomeUnknown tells whether a call that failed with err may have been
// carried out: it failed after it was sent, or while it was being sent —
// a timeout, a connection cut while writing or reading. A call refused
// (an error reply: LOADING, BUSY, …) or never sent (no connection: the
// dial failed, the pool had none in time, the client is closed) was not.
func outcomeUnknown(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var reply redis.Error
	if errors.As(err, &reply) {
		return false
	}
	if errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Op != "dial"
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// reads are the commands of smsim's that change nothing: whatever befell
// them, nothing was carried out. Any other command — a script above all —
// may write.
var reads = map[string]bool{
	"get": true, "mget": true, "strlen": true, "exists": true, "type": true, "ttl": true, "pttl": true,
	"hget": true, "hmget": true, "hgetall": true, "hlen": true, "hexists": true, "hkeys": true, "hvals": true,
	"zrange": true, "zrangebyscore": true, "zrevrange": true, "zrevrangebyscore": true, "zscore": true,
	"zmscore": true, "zcard": true, "zcount": true, "zrank": true, "zrevrank": true,
	"smembers": true, "sismember": true, "scard": true, "lrange": true, "llen": true, "lindex": true,
	"xrange": true, "xrevrange": true, "xlen": true, "xread": true, "xinfo": true, "xpending": true,
	"scan": true, "hscan": true, "zscan": true, "sscan": true, "ping": true, "info": true, "memory": true,
	"evalsha_ro": true, "eval_ro": true, "script": true, "time": true, "dbsize": true,
	// a connection's handshake
	"hello": true, "auth": true, "client": true, "select": true, "readonly": true,
}
