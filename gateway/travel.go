package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// What else a phone's messages may have become, besides its folders.
const (
	FolderFailed     = "failed"     // the messages to the phone that never arrived, with their reason
	FolderTravelling = "travelling" // the messages to the phone the gateway still holds
)

// ErrNothingOnItsWay is Next's answer when nothing can reach the phone by
// itself: the namespace's clock is paused and the gateway holds no message
// to it. Only an advance of the clock, or a new message, can bring one.
var ErrNothingOnItsWay = errors.New("nothing is on its way to the phone and the clock is paused")

// Failed lists the messages to phone that failed, in the order their
// failure was decided, each with its reason and trail; those the store
// has forgotten (their retention) are left out.
func (g *Gateway) Failed(ctx context.Context, phone string) ([]Message, error) {
	return g.indexed(ctx, phone, g.ks.PhoneFailed(phone), FolderFailed)
}

// Travelling lists the messages to phone the gateway still holds, in the
// order they were sent, each with its trail so far.
func (g *Gateway) Travelling(ctx context.Context, phone string) ([]Message, error) {
	return g.indexed(ctx, phone, g.ks.PhoneTravelling(phone), FolderTravelling)
}

func (g *Gateway) indexed(ctx context.Context, phone, key, what string) ([]Message, error) {
	ids, err := g.rdb.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read the %s messages of %s: %w", what, phone, err)
	}
	return g.messages(ctx, ids)
}

// nothingOnItsWay tells whether nothing can reach phone by itself: the
// clock is paused, as the store holds it (another process may have paused
// it since this one read it), no message to phone is on its way, and no
// sender still has one to hand over (Config.Coming). One round trip, and
// only for a poll that would wait.
func (g *Gateway) nothingOnItsWay(ctx context.Context, phone string) (bool, error) {
	p := g.rdb.Pipeline()
	paused := p.HGet(ctx, g.ks.Clock(), "paused")
	travelling := p.ZCard(ctx, g.ks.PhoneTravelling(phone))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("read the messages on their way to %s: %w", phone, err)
	}
	switch v, err := paused.Result(); {
	case errors.Is(err, redis.Nil): // the clock was never set: as it starts
		snap, err := g.state.Snapshot(ctx)
		if err != nil {
			return false, err
		}
		if !snap.Now().Paused {
			return false, nil
		}
	case err != nil || v != "1":
		return false, nil // the clock runs
	}
	if travelling.Val() > 0 {
		return false, nil
	}
	if g.coming == nil {
		return true, nil
	}
	coming, err := g.coming(ctx, phone)
	return !coming, err
}
