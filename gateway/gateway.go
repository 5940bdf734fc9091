package gateway

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// JobDeliver is the scheduler job that delivers a message.
const JobDeliver = "gateway.deliver"

// luaJobs gives the gateway's scripts the kinds of its jobs: JOB.deliver.
var luaJobs = core.LuaTable("JOB", map[string]string{"deliver": JobDeliver})

//go:embed gateway.lua
var gatewayLua string

// LuaLib is the library of the scripts that send and deliver messages —
// the gateway's, and those of other packages that send as they act (a
// miit script that texts a code): put it after the core prelude
// (core.NewScript(gateway.LuaLib, …)). Its functions take messages planned
// by Plan.
var LuaLib = fmt.Sprintf("local GW_JOB_DELIVER = %q\nlocal GW_HELD = %q\n", JobDeliver, HeldMark) + gatewayLua

// Limits of a message.
const (
	MaxBodyRunes = 1000
	MaxSenderLen = 21
)

// Config is what a Gateway is built from.
type Config struct {
	Redis     redis.UniversalClient
	Keyspace  core.Keyspace
	Scheduler *core.Scheduler
	Faults    *core.FaultStore
	State     *core.State // the namespace's clock and fault profile as this process holds them
	Events    *core.EventLog
	Rand      *core.Source
	Log       *slog.Logger
	Metrics   prometheus.Registerer
	// Feed is the namespace's live feed of events, keyed by phone (PhoneOf):
	// phones' sockets and long polls watch it.
	Feed *core.Feed
	// Coming tells whether a sender of the world still has to hand the
	// gateway a message to phone (MIIT's code for an order still to reach
	// it): such a message is on its way too (Next). nil: none.
	Coming func(ctx context.Context, phone string) (bool, error)
}

// Gateway routes SMS to simulated phones.
type Gateway struct {
	rdb    redis.UniversalClient
	ks     core.Keyspace
	lib    []string // the fixed keys of send_now.lua, named once (sendNowKeys)
	sched  *core.Scheduler
	faults *core.FaultStore
	state  *core.State
	events *core.EventLog
	rand   *core.Source
	log    *slog.Logger
	feed   *core.Feed
	coming func(ctx context.Context, phone string) (bool, error)
	sent   *prometheus.CounterVec
	stats  *gatewayMetrics
	phones phones
	// the long polls' rechecks of a paused clock
	rechecks rechecks
}

// New returns a gateway and registers its scheduler events.
func New(c Config) *Gateway {
	g := &Gateway{
		rdb: c.Redis, ks: c.Keyspace, sched: c.Scheduler, faults: c.Faults, state: c.State, events: c.Events, rand: c.Rand,
		log:  c.Log.With("component", "gateway"),
		feed: c.Feed, coming: c.Coming,
		sent: core.Register(c.Metrics, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smsim_messages_total",
			Help: "SMS messages by outcome (delivered, blocked, failed), sender kind (miit, other) and reason.",
		}, []string{"status", "sender_kind", "reason"})),
	}
	g.lib = sendNowKeys(c.Keyspace)
	g.stats = newGatewayMetrics(c.Metrics)
	g.zeroMetrics()
	g.sched.HandleBatch(JobDeliver, g.onDeliver)
	return g
}

// keep queues, on p, the lifetime of a key of something under way that Go
// wrote (the prelude's keep): the namespace's TTL from now, if it has one.
func (g *Gateway) keep(ctx context.Context, p redis.Pipeliner, key string) {
	if ttl := g.state.Limits().NamespaceTTL; ttl > 0 {
		p.PExpire(ctx, key, ttl)
	}
}

// Message reads a message by id.
func (g *Gateway) Message(ctx context.Context, id string) (Message, error) {
	v, err := g.rdb.HGetAll(ctx, g.ks.Message(id)).Result()
	if err != nil {
		return Message{}, fmt.Errorf("read message %s: %w", id, err)
	}
	m, ok := messageOf(v)
	if !ok {
		return Message{}, core.NotFound("no message %q", id)
	}
	return m, nil
}

// Folder lists the messages of a phone's folder in delivery order.
func (g *Gateway) Folder(ctx context.Context, phone, folder string) ([]Message, error) {
	return g.folderAfter(ctx, phone, folder, 0)
}

// folderAfter lists the messages of a folder delivered after sequence
// number seq.
func (g *Gateway) folderAfter(ctx context.Context, phone, folder string, seq int64) ([]Message, error) {
	return g.folderMessages(ctx, phone, folder, g.folderRange(ctx, g.rdb, phone, folder, seq))
}

// folderRange reads, by c, the entries of phone's folder delivered after
// the delivery numbered seq (folderMessages reads the messages of its
// answer).
func (g *Gateway) folderRange(ctx context.Context, c redis.Cmdable, phone, folder string, seq int64) *redis.StringSliceCmd {
	return c.ZRangeByScore(ctx, g.folderKey(phone, folder), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(seq, 10), Max: "+inf",
	})
}

// folderMessages answers the messages of a folder's entries (folderRange).
func (g *Gateway) folderMessages(ctx context.Context, phone, folder string, entries *redis.StringSliceCmd) ([]Message, error) {
	members, err := entries.Result()
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", folder, phone, err)
	}
	out := make([]Message, 0, len(members))
	var ids []string // of a store written before folders held the messages
	for _, m := range members {
		if !strings.HasPrefix(m, "{") {
			ids = append(ids, m)
			continue
		}
		msg, err := folderMessage(m, folder)
		if err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", folder, phone, err)
		}
		out = append(out, msg)
	}
	if len(ids) > 0 {
		old, err := g.messages(ctx, ids)
		if err != nil {
			return nil, err
		}
		out = append(old, out...)
		slices.SortFunc(out, func(a, b Message) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return out, nil
}

// folderEntry is a message as a phone's folder holds it (gateway.lua's
// gw_deliver): as the phone shows it; times in ms, numbers as strings.
type folderEntry struct {
	ID          string `json:"id"`
	Phone       string `json:"phone"`
	Sender      string `json:"sender"`
	Body        string `json:"body"`
	Code        string `json:"code"`
	SentAt      string `json:"sent_at"`
	DeliveredAt string `json:"delivered_at"`
	Seq         string `json:"seq"`
}

func folderMessage(member, folder string) (Message, error) {
	var e folderEntry
	if err := json.Unmarshal([]byte(member), &e); err != nil {
		return Message{}, err
	}
	status := StatusDelivered
	if folder == FolderBlocked {
		status = StatusBlocked
	}
	at := msTime(e.DeliveredAt)
	m := Message{ID: e.ID, Phone: e.Phone, Sender: e.Sender, Body: e.Body, Code: e.Code, Status: status,
		Folder: folder, SentAt: msTime(e.SentAt), DeliveredAt: &at, Trail: []Decision{}}
	m.Seq, _ = strconv.ParseInt(e.Seq, 10, 64)
	return m, nil
}

func (g *Gateway) messages(ctx context.Context, ids []string) ([]Message, error) {
	out := make([]Message, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	p := g.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HGetAll(ctx, g.ks.Message(id))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	for _, c := range cmds {
		if m, ok := messageOf(c.Val()); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// Clear empties both folders of a phone, and forgets the messages to it
// that failed; those on their way still come.
func (g *Gateway) Clear(ctx context.Context, phone string) error {
	if err := g.rdb.Del(ctx, g.folderKey(phone, FolderInbox), g.folderKey(phone, FolderBlocked), g.ks.PhoneFailed(phone)).Err(); err != nil {
		return fmt.Errorf("empty folders of %s: %w", phone, err)
	}
	return nil
}

// seqOf answers the delivery number of message id among phone's folders,
// and whether one of them holds it. The message's own key tells, while it
// lives. A folder's entry can outlive it: under a retention the message's
// key expires that long after its delivery, while the folder, written to
// since, keeps its entries (up to --inbox-max); the folder's entry tells
// then. An id the folders do not hold answers false.
func (g *Gateway) seqOf(ctx context.Context, phone, id string, folders ...string) (int64, bool, error) {
	v, err := g.rdb.HMGet(ctx, g.ks.Message(id), "phone", "folder", "seq").Result()
	if err != nil {
		return 0, false, fmt.Errorf("read message %s: %w", id, err)
	}
	if v[0] != nil || v[1] != nil {
		if str(v[0]) != phone || !slices.Contains(folders, str(v[1])) {
			return 0, false, nil
		}
		seq, _ := strconv.ParseInt(str(v[2]), 10, 64)
		return seq, true, nil
	}
	quoted := `"id":"` + id + `"`
	for _, folder := range folders {
		entries, err := g.rdb.ZRangeWithScores(ctx, g.folderKey(phone, folder), 0, -1).Result()
		if err != nil {
			return 0, false, fmt.Errorf("read %s of %s: %w", folder, phone, err)
		}
		for _, e := range entries {
			m, _ := e.Member.(string)
			if m == id { // a store written before folders held the messages
				return int64(e.Score), true, nil
			}
			if !strings.Contains(m, quoted) {
				continue
			}
			if msg, err := folderMessage(m, folder); err == nil && msg.ID == id {
				return msg.Seq, true, nil
			}
		}
	}
	return 0, false, nil
}
