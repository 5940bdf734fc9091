package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// outcomeEvent is the data of an sms.delivered, sms.blocked or sms.failed
// event, as deliverScript writes it: times in Unix milliseconds and numbers
// as strings, "" when absent.
type outcomeEvent struct {
	ID          string          `json:"id"`
	Phone       string          `json:"phone"`
	Sender      string          `json:"sender"`
	Body        string          `json:"body"`
	Code        string          `json:"code"`
	Status      string          `json:"status"`
	Folder      string          `json:"folder"`
	Reason      string          `json:"reason"`
	SentAt      string          `json:"sent_at_ms"`
	DeliveredAt string          `json:"delivered_at_ms"`
	Seq         string          `json:"seq"`
	Trail       json.RawMessage `json:"trail"` // read only when asked for (Frame.Full): most of the data, and no phone shows it
}

// outcomeOf reads the data of an outcome event, as the scripts write it
// without reflection (scanOutcome), else with encoding/json.
func outcomeOf(data []byte) (outcomeEvent, error) {
	if d, ok := scanOutcome(data); ok {
		return d, nil
	}
	var d outcomeEvent
	err := json.Unmarshal(data, &d)
	return d, err
}

// PhoneOf is the key of the live feed: the phone an event brought a
// message to (sms.delivered and sms.blocked), or whose message failed
// (sms.failed: a long poll asks again whether anything is on its way),
// else "". Phones' sockets and long polls watch the feed by it. It reads
// the event's message once for every watcher (PhoneFrame).
func PhoneOf(l *core.Live) string {
	if fr, ok := PhoneFrame(l); ok {
		return fr.Message.Phone
	}
	if l.Kind == core.KindSMSFailed {
		var e struct {
			Phone string `json:"phone"`
		}
		if json.Unmarshal(l.Data, &e) == nil {
			return e.Phone
		}
	}
	return ""
}

// MessageOf reads the message an sms.delivered or sms.blocked event
// brought to a phone, its trail included.
func MessageOf(r core.Record) (Message, bool) {
	m, trail, ok := deliveredOf(r)
	if !ok {
		return Message{}, false
	}
	return withTrail(m, trail), true
}

// deliveredOf reads the message of MessageOf but its trail, which it answers
// as it is.
func deliveredOf(r core.Record) (Message, json.RawMessage, bool) {
	if r.Kind != core.KindSMSDelivered && r.Kind != core.KindSMSBlocked {
		return Message{}, nil, false
	}
	d, err := outcomeOf(r.Data)
	if err != nil || d.ID == "" || d.Folder == "" {
		return Message{}, nil, false
	}
	m := Message{ID: d.ID, Phone: d.Phone, Sender: d.Sender, Body: d.Body, Code: d.Code, Status: d.Status,
		Folder: d.Folder, SentAt: msTime(d.SentAt)}
	at := msTime(d.DeliveredAt)
	m.DeliveredAt = &at
	m.Seq, _ = strconv.ParseInt(d.Seq, 10, 64)
	return m, d.Trail, true
}

// withTrail answers m with trail, decoded; an empty one when it is absent
// or cannot be read.
func withTrail(m Message, trail json.RawMessage) Message {
	m.Trail = nil
	if len(trail) > 0 {
		json.Unmarshal(trail, &m.Trail)
	}
	if m.Trail == nil {
		m.Trail = []Decision{}
	}
	return m
}

// phoneBuffer is how many deliveries a phone's watcher may fall behind
// before the feed drops it: a watcher holds pointers to events the feed
// shares (core.Live), so a buffer costs 8 bytes a slot.
const phoneBuffer = 64

// Frame is what a phone's socket sends of an event: the message it brought,
// as the phone shows it, encoded once for every socket of the phone.
type Frame struct {
	Message Message // without its trail, which Full reads
	JSON    []byte
	trail   json.RawMessage // most often a part of the event's data, which nothing changes
}

// Full answers the frame's message with its trail.
func (f Frame) Full() Message { return withTrail(f.Message, f.trail) }

// frameKey is the key of a phone's frame among what watchers make of an
// event (core.Live.Memo).
type frameKey struct{}

// PhoneFrame answers the frame of an sms.delivered or sms.blocked event of
// the feed, made once however many watchers ask (PhoneOf, sockets, long
// polls); false for another event.
func PhoneFrame(l *core.Live) (Frame, bool) {
	fr, _ := l.Memo(frameKey{}, func(l *core.Live) any {
		m, trail, ok := deliveredOf(l.Record)
		if !ok {
			return nil
		}
		pm := m.Phoned()
		b, ok := pm.appendJSON(nil)
		if !ok {
			var err error
			if b, err = json.Marshal(pm); err != nil {
				return nil
			}
		}
		return &Frame{Message: m, JSON: b, trail: trail}
	}).(*Frame)
	if fr == nil {
		return Frame{}, false
	}
	return *fr, true
}

// Watch starts watching the deliveries to phone (either folder) on the live
// feed: read them from the watcher's channel with MessageOf. Once it
// returns, every delivery from then on reaches the watcher. Close it when
// done.
func (g *Gateway) Watch(ctx context.Context, phone string) (*core.Watcher, error) {
	return g.feed.Watch(ctx, phone, phoneBuffer)
}

// A Catchup is where a phone's socket starts (DeliveredAfter).
type Catchup struct {
	Messages []Message // delivered after the message asked for, in delivery order
	Seq      int64     // the delivery number of that message (0 for AfterStart)
	// Log is the newest event of the namespace's log when the folders were
	// read ("" for none): what the live feed brings up to it, however late,
	// is in Messages or came before them.
	Log string
}

// DeliveredAfter answers the messages delivered to phone, in either folder,
// after message after (AfterStart: all of them), in delivery order, with
// the delivery number of after and the newest event of the log at that
// moment (Catchup): a reader who goes on with the live events after that
// one sends none twice. An id that is in neither folder of the phone is a
// NotFound. The two folders and the log are read at one moment (MULTI): a
// delivery that put a message in each is in the answer whole or not at
// all, so that such a reader misses none.
func (g *Gateway) DeliveredAfter(ctx context.Context, phone, after string) (Catchup, error) {
	var seq int64
	if after != AfterStart {
		s, ok, err := g.seqOf(ctx, phone, after, FolderInbox, FolderBlocked)
		if err != nil {
			return Catchup{}, err
		}
		if !ok {
			return Catchup{}, core.NotFound("after: no message %q delivered to %s (give a message id of its inbox or blocked folder, or %q)", after, phone, AfterStart)
		}
		seq = s
	}
	var inboxRange, blockedRange *redis.StringSliceCmd
	var newest *redis.XMessageSliceCmd
	_, err := g.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		inboxRange = g.folderRange(ctx, p, phone, FolderInbox, seq)
		blockedRange = g.folderRange(ctx, p, phone, FolderBlocked, seq)
		newest = p.XRevRangeN(ctx, g.ks.Events(), "+", "-", 1)
		return nil
	})
	if err != nil {
		return Catchup{}, fmt.Errorf("read the folders of %s: %w", phone, err)
	}
	inbox, err := g.folderMessages(ctx, phone, FolderInbox, inboxRange)
	if err != nil {
		return Catchup{}, err
	}
	blocked, err := g.folderMessages(ctx, phone, FolderBlocked, blockedRange)
	if err != nil {
		return Catchup{}, err
	}
	out := append(inbox, blocked...)
	slices.SortFunc(out, func(a, b Message) int { return cmp.Compare(a.Seq, b.Seq) })
	return Catchup{Messages: out, Seq: seq, Log: newestID(newest)}, nil
}

// newestID answers the id of the one event of an XREVRANGE … COUNT 1, or
// "" for none.
func newestID(c *redis.XMessageSliceCmd) string {
	if m := c.Val(); len(m) > 0 {
		return m[0].ID
	}
	return ""
}

// Queue starts watching the deliveries to phone as Watch does, into the
// feed's queue of a watcher (core.Feed.Queue) instead of a channel: notify
// is called when a delivery comes to its empty queue and when it is
// dropped.
func (g *Gateway) Queue(ctx context.Context, phone string, notify func()) (*core.Watcher, error) {
	return g.feed.Queue(ctx, phone, phoneBuffer, notify)
}
