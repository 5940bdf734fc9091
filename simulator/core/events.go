package core

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kinds of events on the event log.
const (
	KindFilingSubmitted = "filing.submitted" // a customer submitted an order
	KindFilingStatus    = "filing.status"    // an order's status changed, in MIIT's view or the provider's
	KindSMSSent         = "sms.sent"         // a message was handed to the gateway
	KindSMSDelivered    = "sms.delivered"    // … reached a phone's inbox
	KindSMSBlocked      = "sms.blocked"      // … landed in a phone's blocked folder
	KindSMSFailed       = "sms.failed"       // … never arrived
	KindValidation      = "validation"       // MIIT answered a validation
	KindResend          = "resend"           // MIIT answered a resend request
	KindClock           = "clock"            // the clock was set or advanced
	KindFaults          = "faults"           // the fault profile changed
	KindPhone           = "phone.profile"    // a phone's profile changed
	KindPhoneCleared    = "phone.cleared"    // a phone's folders were emptied
	KindReset           = "reset"            // the namespace was reset
)

// eventKinds are the kinds of the event log: the registry every other
// list is drawn from (the scripts' KIND table, the kinds a webhook may
// ask for).
var eventKinds = []string{
	KindFilingSubmitted, KindFilingStatus,
	KindSMSSent, KindSMSDelivered, KindSMSBlocked, KindSMSFailed,
	KindValidation, KindResend,
	KindClock, KindFaults, KindPhone, KindPhoneCleared, KindReset,
}

// EventKinds answers every kind of event of the log.
func EventKinds() []string { return slices.Clone(eventKinds) }

// LuaKindName is the name of kind in the scripts' KIND table (Prelude):
// its dots become underscores, so that "sms.delivered" is
// KIND.sms_delivered.
func LuaKindName(kind string) string { return strings.ReplaceAll(kind, ".", "_") }

func luaKinds() map[string]string {
	m := make(map[string]string, len(eventKinds))
	for _, k := range eventKinds {
		m[LuaKindName(k)] = k
	}
	return m
}

// Record is one event: what happened, at which simulated time.
type Record struct {
	ID        string          `json:"id"` // increasing; ask for the events after one to catch up
	At        time.Time       `json:"at"`
	Kind      string          `json:"kind"`
	Namespace string          `json:"ns"`
	Data      json.RawMessage `json:"data"`
}

// DefaultEventLogLen is how many recent events the log keeps (about).
const DefaultEventLogLen = 10000

// EventLog is the log of everything that happens in a namespace, a Redis
// stream capped at about its length, shared by every process: pages and
// tools read it to follow the simulator live and to catch up on what they
// missed.
type EventLog struct {
	rdb    redis.UniversalClient
	ks     Keyspace
	key    string
	maxLen int64
}

// NewEventLog returns the event log of keyspace ks.
func NewEventLog(rdb redis.UniversalClient, ks Keyspace) *EventLog {
	return &EventLog{rdb: rdb, ks: ks, key: ks.Events(), maxLen: DefaultEventLogLen}
}

var (
	//go:embed emit.lua
	emitLua    string
	emitScript = NewScript[emitArgs](emitLua)
)

// emitArgs are the arguments of emit.lua.
type emitArgs struct {
	At   int64  `json:"at"` // ms
	Kind string `json:"kind"`
	Data string `json:"data"` // JSON
}

// Emit appends an event, and publishes it for the live feeds of every
// process (the prelude's emit). The log is for watching: a failure to write
// it is returned, and callers that already changed state only log it.
func (l *EventLog) Emit(ctx context.Context, at time.Time, kind string, data any) error {
	_, err := l.Write(ctx, at, kind, data)
	return err
}

// Write is Emit, answering the event's id.
func (l *EventLog) Write(ctx context.Context, at time.Time, kind string, data any) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", kind, err)
	}
	id, err := emitScript.Run(ctx, l.rdb, []string{l.key}, emitArgs{At: at.UnixMilli(), Kind: kind, Data: string(b)}).Text()
	if err != nil {
		return "", fmt.Errorf("event %s: %w", kind, err)
	}
	return id, nil
}

func (l *EventLog) record(m redis.XMessage) Record {
	at, _ := strconv.ParseInt(fmt.Sprint(m.Values["at"]), 10, 64)
	data, _ := m.Values["data"].(string)
	kind, _ := m.Values["kind"].(string)
	if data == "" {
		data = "{}"
	}
	return Record{ID: m.ID, At: time.UnixMilli(at).UTC(), Kind: kind, Namespace: l.ks.Namespace, Data: json.RawMessage(data)}
}

// After answers up to max events after the one with id after ("" or "0":
// from the oldest kept).
func (l *EventLog) After(ctx context.Context, after string, max int64) ([]Record, error) {
	start := "-"
	if after != "" && after != "0" {
		start = "(" + after
	}
	ms, err := l.rdb.XRangeN(ctx, l.key, start, "+", max).Result()
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Record, len(ms))
	for i, m := range ms {
		out[i] = l.record(m)
	}
	return out, nil
}

// Last answers the id of the newest event ("0" when there is none).
func (l *EventLog) Last(ctx context.Context) (string, error) {
	ms, err := l.rdb.XRevRangeN(ctx, l.key, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("read events: %w", err)
	}
	if len(ms) == 0 {
		return "0", nil
	}
	return ms[0].ID, nil
}

// Holds tells whether the log holds the event id: not when a reset emptied
// it since (or it was trimmed, at about its length).
func (l *EventLog) Holds(ctx context.Context, id string) (bool, error) {
	m, err := l.rdb.XRangeN(ctx, l.key, id, id, 1).Result()
	if err != nil {
		return false, fmt.Errorf("read events: %w", err)
	}
	return len(m) == 1, nil
}

// Wait answers the events after the one with id after, waiting up to block
// for one to come (none: an empty answer).
func (l *EventLog) Wait(ctx context.Context, after string, block time.Duration) ([]Record, error) {
	res, err := l.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{l.key, after}, Count: 500, Block: block}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	var out []Record
	for _, s := range res {
		for _, m := range s.Messages {
			out = append(out, l.record(m))
		}
	}
	return out, nil
}
