package simulator

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// A namespace's keys live Limits.NamespaceTTL (real time) after they were
// last written (the scripts' keep and retire; core.Bounds), and its
// long-lived keys — its clock, fault profile, event log, scheduler's sets,
// list of orders… (core.Keyspace.LongLived), and its webhooks — that long
// after the namespace was last used: a process writes their lifetime
// afresh when it records a use (touch, at most every touchEvery), and once
// more when it stops running the namespace (idle for NamespaceIdle, or the
// process stops), for what its background work wrote since — or, for a
// namespace it runs on though idle (the default one, one watched), when it
// falls idle. So a namespace
// no request changes for NamespaceTTL is gone, its keys expired; supervise
// then drops it from the registry (forgetExpired). A request that comes
// after finds its clock gone and makes it again, as new.

// expireAt queues on p the lifetime of n's long-lived keys and of its
// hooks' keys (hooks: their ids): until until, or later if another process
// gave them a later end already (a lifetime is never shortened); a key
// without one and an until past is gone at once. It answers whether the
// clock exists, false when it was gone.
func expireAt(ctx context.Context, p redis.Pipeliner, n *Namespace, until time.Time, hooks []string) *redis.IntCmd {
	clock := p.Exists(ctx, n.ks.Clock())
	ms := until.UnixMilli()
	keys := n.ks.LongLived()
	for _, id := range hooks {
		keys = append(keys, n.ks.Webhook(id), n.ks.WebhookLog(id))
	}
	for _, k := range keys {
		p.Do(ctx, "PEXPIREAT", k, ms, "NX") // none yet
		p.Do(ctx, "PEXPIREAT", k, ms, "GT") // an earlier one
	}
	return clock
}

// lifetimeMargin is how much longer than the namespace TTL after its last
// recorded use a namespace's long-lived keys live: a use is recorded at
// most every touchEvery, and what is written meanwhile lives the TTL from
// its write, so that no key of the namespace outlives its clock.
const lifetimeMargin = touchEvery

// hookIDs answers the ids of n's webhooks when the process runs its
// dispatcher (the namespace has webhooks), else none.
func (w *World) hookIDs(ctx context.Context, n *Namespace) ([]string, error) {
	if !n.webhooksOn() {
		return nil, nil
	}
	ids, err := w.rdb.ZRange(ctx, n.ks.Webhooks(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read the webhooks of %s: %w", n.name, err)
	}
	return ids, nil
}

// keepUntilLastUse writes the lifetime of the long-lived keys of spaces
// once more, as the process stops running them: NamespaceTTL after each
// namespace's last use, by any process (the registry's) or by this one —
// a request, or a job its loop carried out since, which wrote keys that
// live NamespaceTTL from then: the namespace's clock outlives them, so
// that a request finds the namespace as new only once they are gone. A
// namespace whose lifetime has run out by now is gone at once: its
// long-lived keys written since the last touch, which have no lifetime,
// with the rest. Two round trips, whatever the number of namespaces.
func (w *World) keepUntilLastUse(ctx context.Context, spaces []*Namespace) error {
	ttl := w.cfg.Limits.NamespaceTTL
	if ttl <= 0 || len(spaces) == 0 {
		return nil
	}
	p := w.rdb.Pipeline()
	scores := make([]*redis.FloatCmd, len(spaces))
	hooks := make([]*redis.StringSliceCmd, len(spaces))
	for i, n := range spaces {
		scores[i] = p.ZScore(ctx, w.registryKey(), n.name)
		hooks[i] = p.ZRange(ctx, n.ks.Webhooks(), 0, -1)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read the last use of the namespaces: %w", err)
	}
	p = w.rdb.Pipeline()
	for i, n := range spaces {
		last := max(int64(scores[i].Val()), n.used.Load(), n.touched.Load(), n.sched.LastCarried())
		if last == 0 {
			continue // no use known: nothing to go by
		}
		expireAt(ctx, p, n, time.UnixMilli(last).Add(ttl+lifetimeMargin), hooks[i].Val()) // past: the keys go now
	}
	if p.Len() == 0 {
		return nil
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("keep the namespaces: %w", err)
	}
	return nil
}

var (
	//go:embed expire_left.lua
	expireLeftLua    string
	expireLeftScript = core.NewScript[expireLeftArgs](expireLeftLua)
)

type expireLeftArgs struct {
	TTL int64 `json:"ttl"` // ms
}

// sweepWebhooked drops from the set of the namespaces with webhooks those
// the registry no longer holds: expired, but whose webhooks outlived them
// when forgetExpired looked (a process that died before it wrote their
// lifetime left them without one). A namespace made again is in the
// registry from its first write, before it can register a webhook. Two
// round trips.
func (w *World) sweepWebhooked(ctx context.Context) error {
	names, err := w.rdb.SMembers(ctx, w.webhookedKey()).Result()
	if err != nil || len(names) == 0 {
		return err
	}
	p := w.rdb.Pipeline()
	scores := make([]*redis.FloatCmd, len(names))
	for i, name := range names {
		scores[i] = p.ZScore(ctx, w.registryKey(), name)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read the namespaces with webhooks: %w", err)
	}
	var gone []any
	for i, name := range names {
		if errors.Is(scores[i].Err(), redis.Nil) {
			gone = append(gone, name)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := w.rdb.SRem(ctx, w.webhookedKey(), gone...).Err(); err != nil {
		return fmt.Errorf("forget the namespaces with webhooks: %w", err)
	}
	return nil
}

// forgetExpired drops from the registry the namespaces no request used
// within NamespaceTTL, whose keys have expired: a key left without a
// lifetime (its process died before it wrote one) gets one
// (expire_left.lua), and a namespace without webhooks leaves the set of
// those with webhooks; one the registry no longer holds leaves it too
// (sweepWebhooked). It runs at most every touchEvery.
func (w *World) forgetExpired(ctx context.Context) error {
	ttl := w.cfg.Limits.NamespaceTTL
	now := time.Now()
	last := w.forgot.Load()
	if ttl <= 0 || now.UnixMilli()-last < touchEvery.Milliseconds() || !w.forgot.CompareAndSwap(last, now.UnixMilli()) {
		return nil
	}
	if err := w.sweepWebhooked(ctx); err != nil {
		return err
	}
	before := strconv.FormatInt(now.Add(-ttl).UnixMilli(), 10)
	names, err := w.rdb.ZRangeByScore(ctx, w.registryKey(), &redis.ZRangeBy{Min: "-inf", Max: "(" + before}).Result()
	if err != nil {
		return fmt.Errorf("read the expired namespaces: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	if err := w.rdb.ZRemRangeByScore(ctx, w.registryKey(), "-inf", "("+before).Err(); err != nil {
		return fmt.Errorf("forget the expired namespaces: %w", err)
	}
	hooked := make([]*redis.IntCmd, len(names))
	p := w.rdb.Pipeline()
	for i, name := range names {
		ks := core.Keyspace{Prefix: w.cfg.KeyPrefix, Namespace: name}
		if err := expireLeftScript.Run(ctx, w.rdb, ks.LongLived(), expireLeftArgs{TTL: ttl.Milliseconds()}).Err(); err != nil {
			return fmt.Errorf("forget namespace %s: %w", name, err)
		}
		hooked[i] = p.Exists(ctx, ks.Webhooks())
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("forget the expired namespaces: %w", err)
	}
	var gone []any
	for i, name := range names {
		if hooked[i].Val() == 0 {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		if err := w.rdb.SRem(ctx, w.webhookedKey(), gone...).Err(); err != nil {
			return fmt.Errorf("forget the expired namespaces: %w", err)
		}
	}
	w.log.Info("namespaces expired", "namespaces", names)
	return nil
}
