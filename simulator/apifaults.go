package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"smsim/gateway"
	"smsim/simulator/core"
)

// Snapshot is what this process holds of the namespace's clock and fault
// profile (core.State): no round trip unless either changed through this
// process since it last read them.
func (n *Namespace) Snapshot(ctx context.Context) (core.Snapshot, error) {
	return n.state.Snapshot(ctx)
}

// APIFault decides what the fault profile's api_faults, and the magic
// numbers of the API, do to a call of route (core.APIRoutes) whose body
// names phone ("" for none): nil when nothing. A route without an entry
// costs nothing; one with an entry one command, to count its call; a
// magic number's call one, to tell whether it is its first.
func (n *Namespace) APIFault(ctx context.Context, snap core.Snapshot, route, phone string) (*core.APIDecision, error) {
	if d, err := n.magicAPIFault(ctx, snap, route, phone); d != nil || err != nil {
		return d, err
	}
	a, ok := snap.Faults.APIFaultOf(route)
	if !ok {
		return nil, nil
	}
	call, err := n.rdb.HIncrBy(ctx, n.ks.APICalls(), route, 1).Result()
	if err != nil {
		return nil, fmt.Errorf("count the calls of %s: %w", route, err)
	}
	d := a.Decide(n.rnd, n.name, call)
	return &d, nil
}

// The magic numbers of the API's faults: MIIT's validation and resend of
// the number answer its fault the first time it calls either.
func (n *Namespace) magicAPIFault(ctx context.Context, snap core.Snapshot, route, phone string) (*core.APIDecision, error) {
	if !snap.Faults.MagicNumbers || (route != "POST /miit/v1/validations" && route != "POST /miit/v1/resends") {
		return nil, nil
	}
	var d core.APIDecision
	switch phone {
	case gateway.MagicAPIUnavailable:
		after := time.Second
		d.Error = core.APIError{Status: 503, RetryAfter: &after}
	case gateway.MagicAPIDropped:
		d.Drop = true
	default:
		return nil, nil
	}
	first, err := n.rdb.SetNX(ctx, n.ks.MagicAPI(phone), "1", time.Duration(snap.Bounds().Live)*time.Millisecond).Result()
	if err != nil {
		return nil, fmt.Errorf("magic number %s: %w", phone, err)
	}
	if !first {
		return nil, nil
	}
	d.Applied = core.AppliedFault{Call: 1, Magic: phone, Status: d.Error.Status, Dropped: d.Drop}
	return &d, nil
}

// restartAPICalls starts the counts of api_faults' scripts again: the
// profile's api_faults were set.
func (n *Namespace) restartAPICalls(ctx context.Context) error {
	if err := n.rdb.Del(ctx, n.ks.APICalls()).Err(); err != nil {
		return fmt.Errorf("restart the counts of api_faults: %w", err)
	}
	return nil
}

// patchesAPIFaults tells whether a merge patch of the profile sets or
// clears api_faults.
func patchesAPIFaults(body []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	_, ok := doc["api_faults"]
	return ok
}

// JournalOn tells whether the process keeps a request journal.
func (n *Namespace) JournalOn() bool { return n.jrnl.on() }

// Journal hands a request's entry to the journal; it is written in the
// background, at no cost to the request (see journal). A namespace nothing
// was written to keeps none: a read of it writes nothing.
func (n *Namespace) Journal(b core.Bounds, e core.JournalEntry) {
	if n.made.Load() {
		n.jrnl.add(n, b, e)
	}
}

// Requests answers the journal's entries f chooses, once this process's
// pending entries of the namespace are written.
func (n *Namespace) Requests(ctx context.Context, f core.JournalFilter) ([]core.JournalEntry, error) {
	if err := n.jrnl.flush(ctx, n.name); err != nil {
		return nil, err
	}
	return n.journal.Read(ctx, f)
}
