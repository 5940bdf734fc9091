package server

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/simulator/core"
)

// A phone socket skips what the feed brings of the log up to the moment it
// opened (since), a reset too — but a reset not numbered after since
// whose log no longer holds since came after the socket opened (the new
// log's ids start again from the time of day, so one in since's
// millisecond may be numbered before it): the deliveries are numbered
// from 1 again, and everything from then on is sent.
func TestPhoneStreamTellsALateResetFromANewOne(t *testing.T) {
	k := &socket{s: &Server{log: slog.New(slog.DiscardHandler), cfg: Config{SocketWriteWait: time.Second}}, ctx: context.Background()}
	reset := &core.Live{Record: core.Record{ID: "1000-0", Kind: core.KindReset}}
	for _, c := range []struct {
		held          bool // the log still holds since
		wantLast      int64
		wantSince     string
		wantHeldAsked bool
	}{
		{held: true, wantLast: 7, wantSince: "1000-3", wantHeldAsked: true}, // late: of before the socket opened
		{held: false, wantLast: 0, wantSince: "", wantHeldAsked: true},      // new: the log was emptied since
	} {
		asked := false
		p := &phoneStream{last: gateway.Message{ID: "m_anchor", Seq: 7}, since: "1000-3",
			holds: func(_ context.Context, id string) (bool, error) {
				asked = id == "1000-3"
				return c.held, nil
			}}
		if !p.send(k, reset) {
			t.Fatal("a reset ended the socket")
		}
		if p.last.Seq != c.wantLast || p.since != c.wantSince || asked != c.wantHeldAsked {
			t.Errorf("held %v: last %d, since %q, asked %v; want %d, %q, %v", c.held, p.last.Seq, p.since, asked, c.wantLast, c.wantSince, c.wantHeldAsked)
		}
	}
	// a reset numbered after since is new, whatever the log holds
	p := &phoneStream{last: gateway.Message{Seq: 7}, since: "999-9", holds: func(context.Context, string) (bool, error) {
		t.Fatal("the log read for a reset numbered after since")
		return false, nil
	}}
	p.send(k, reset)
	if p.last.Seq != 0 || p.since != "" {
		t.Errorf("a reset after since: last %d, since %q; want 0, empty", p.last.Seq, p.since)
	}
}
