package core

import (
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limits bound the memory a process's namespaces hold in Redis, in real
// time: nothing of them lives forever unless a limit is 0. Outcomes are
// still decided by the simulated clock; a key that expires is only
// forgotten, as if reset.
type Limits struct {
	// Retention is how long what is finished lives after its last write —
	// an order approved, returned, rejected or canceled, a message
	// delivered, blocked or failed, a phone's folders after their last
	// delivery — unless the namespace's fault profile sets its own
	// (Faults.Retention). 0 keeps it.
	Retention time.Duration
	// InboxMax is how many messages each folder of a phone keeps, the
	// newest; 0: all.
	InboxMax int
	// NamespaceTTL is how long any key of a namespace lives after its last
	// write; the namespace's long-lived keys (Keyspace.LongLived) are
	// written afresh whenever a request uses it. 0: forever.
	NamespaceTTL time.Duration
	// Unheard tells that the store's PUBLISH answers every listener of a
	// channel (CountsEveryListener), so that a script may stop publishing
	// its events once one reached nobody (Bounds.Unheard). simulator.New
	// sets it from the store's client.
	Unheard bool
}

// Bounds are the limits as a script applies them to the keys it writes
// (the prelude's keep, retire and keep_until read them as args.bounds):
// lifetimes in real ms, the cap of a folder, and the clock's scale to turn
// simulated time into real time.
type Bounds struct {
	Retain   int64   `json:"retain"`    // what is finished: the retention, at most Live; 0: no expiry
	Live     int64   `json:"live"`      // any other key of the namespace, from its last write; 0: no expiry
	InboxMax int     `json:"inbox_max"` // messages a folder keeps; 0: all
	Scale    float64 `json:"scale"`     // simulated ms per real ms; 0: the clock is paused
	// Unheard: PUBLISH answers every listener (Limits.Unheard), and a
	// script publishes no more events on a channel once one reached nobody
	// (the prelude's emit).
	Unheard bool `json:"unheard,omitempty"`
}

// CountsEveryListener tells whether PUBLISH through rdb answers how many
// listen to the channel, all of them: true for one Redis or the embedded
// store, false for a cluster, whose nodes count only the listeners
// connected to them.
func CountsEveryListener(rdb redis.UniversalClient) bool {
	_, cluster := rdb.(*redis.ClusterClient)
	return !cluster
}

// BoundsOf answers the bounds of a namespace whose fault profile is f,
// its clock paused (Snapshot.Bounds adds the clock's scale).
func (l Limits) BoundsOf(f Faults) Bounds {
	retention := l.Retention
	if f.Retention != nil {
		retention = *f.Retention
	}
	live := ms(l.NamespaceTTL)
	retain := ms(retention)
	if retain == 0 || (live > 0 && retain > live) {
		retain = live
	}
	return Bounds{Retain: retain, Live: live, InboxMax: max(l.InboxMax, 0), Unheard: l.Unheard}
}

// ms is d in whole milliseconds, rounded up (a key lives at least d), and
// 0 for no time.
func ms(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(float64(d) / float64(time.Millisecond)))
}
