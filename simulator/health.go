package simulator

import (
	"context"
	"sync"
	"time"

	"smsim/simulator/core"
)

// The probe of the store's health: how often it pings, and how long it
// waits for an answer. A store that stalls reads as unavailable within
// probeEvery + probeTimeout, and at once when a request finds it so.
const (
	probeEvery   = 250 * time.Millisecond
	probeTimeout = 500 * time.Millisecond
)

// health is what the world knows of its store: available or not, and why
// not. The probe writes it, and so does every call that finds the store
// unavailable; readiness reads it without a round trip.
type health struct {
	mu    sync.Mutex
	down  bool
	why   string
	since time.Time
}

// set records the outcome of a call: err nil says the store answered.
func (h *health) set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && h.down:
		h.down, h.why, h.since = false, "", time.Now()
	case err != nil && !h.down:
		h.down, h.why, h.since = true, err.Error(), time.Now()
	case err != nil:
		h.why = err.Error()
	}
}

// Ready tells whether the store is available, as the world's probe last
// found it (or a request since, which found it unavailable); when not,
// why. It answers at once: it reads what the probe keeps, and asks the
// store nothing.
func (w *World) Ready() (ok bool, why string) {
	w.health.mu.Lock()
	defer w.health.mu.Unlock()
	return !w.health.down, w.health.why
}

// probe pings the store every probeEvery, each ping bounded by
// probeTimeout, and records the outcome, until ctx ends.
func (w *World) probe(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := w.rdb.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !core.StoreUnavailable(err) {
			w.log.Warn("probing the store", "err", err)
		}
		w.health.set(err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
