package webhook

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// stored is a hook as kept in Redis: the hook and the id of the newest
// event of the log when it was registered.
type stored struct {
	Hook
	since string
}

var (
	//go:embed register.lua
	registerLua    string
	registerScript = core.NewScript[registerArgs](registerLua)

	//go:embed delete.lua
	deleteLua    string
	deleteScript = core.NewScript[deleteArgs](deleteLua)
)

type registerArgs struct {
	Bounds   core.Bounds `json:"bounds"`
	ID       string      `json:"id"`
	Hook     string      `json:"hook"` // JSON
	MaxHooks int         `json:"max_hooks"`
	Group    string      `json:"group"` // the consumer group of the event log
}

type deleteArgs struct {
	ID string `json:"id"`
}

// Register validates h and adds it to the namespace. The ID and CreatedAt
// of h are ignored: Register sets them. The hook receives the events
// appended to the log after Register returns, none from before.
func (d *Dispatcher) Register(ctx context.Context, h Hook) (Hook, error) {
	h, err := d.validate(h)
	if err != nil {
		return Hook{}, err
	}
	h.ID = "wh_" + randomHex(8)
	h.CreatedAt = d.now().UTC()
	b, err := json.Marshal(h)
	if err != nil {
		return Hook{}, fmt.Errorf("register webhook: %w", err)
	}
	ok, err := registerScript.Run(ctx, d.rdb, []string{d.hooksKey, d.ks.Webhook(h.ID), d.eventsKey},
		registerArgs{Bounds: d.bounds(), ID: h.ID, Hook: string(b), MaxHooks: MaxHooks, Group: Group}).Int()
	if err != nil {
		return Hook{}, fmt.Errorf("register webhook: %w", err)
	}
	if ok == 0 {
		return Hook{}, core.Conflict("too many webhooks: a namespace holds at most %d; delete one first", MaxHooks)
	}
	d.log.InfoContext(ctx, "webhook registered", "hook", h.ID, "url", redacted(h.URL), "events", strings.Join(h.Events, ","))
	return h, nil
}

// validate checks h and fills in its defaults: the events and the secret.
func (d *Dispatcher) validate(h Hook) (Hook, error) {
	if err := d.checkURL(h.URL); err != nil {
		return Hook{}, err
	}
	if len(h.Events) == 0 {
		h.Events = slices.Clone(DefaultEvents)
	} else {
		var evs []string
		for _, k := range h.Events {
			if k == core.KindReset {
				return Hook{}, core.Invalid("events: %q is never posted: a reset deletes the namespace's webhooks first; kinds: %s", k, strings.Join(Kinds, ", "))
			}
			if !slices.Contains(Kinds, k) {
				return Hook{}, core.Invalid("events: unknown kind %q; known kinds: %s", k, strings.Join(Kinds, ", "))
			}
			if !slices.Contains(evs, k) {
				evs = append(evs, k)
			}
		}
		h.Events = evs
	}
	switch {
	case utf8.RuneCountInString(h.Secret) > MaxSecretLen:
		return Hook{}, core.Invalid("secret: %d characters; at most %d", utf8.RuneCountInString(h.Secret), MaxSecretLen)
	case h.Secret == "":
		h.Secret = randomHex(32)
	}
	return h, nil
}

// checkURL tells whether raw is an absolute http or https URL on an allowed
// host.
func (d *Dispatcher) checkURL(raw string) error {
	if raw == "" {
		return core.Invalid("url: required")
	}
	if n := utf8.RuneCountInString(raw); n > MaxURLLen {
		return core.Invalid("url: %d characters; at most %d", n, MaxURLLen)
	}
	if i := strings.IndexFunc(raw, notInURI); i >= 0 {
		c, _ := utf8.DecodeRuneInString(raw[i:])
		return core.Invalid("url: %q is not a valid URI: it holds %q at byte %d; percent-encode it (%%20 for a space)", raw, c, i)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return core.Invalid("url: not a valid URL: %v", err)
	}
	switch {
	case u.Scheme == "":
		return core.Invalid("url: %q is not absolute; give an http or https URL such as http://127.0.0.1:8080/hook", raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return core.Invalid("url: scheme %q is not allowed: use http or https", u.Scheme)
	case u.Hostname() == "":
		return core.Invalid("url: %q has no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	if err := d.targets.check(u.Hostname(), port); err != nil {
		return core.Invalid("url: %v", err)
	}
	return nil
}

// List answers the hooks of the namespace, in the order of their
// registration.
func (d *Dispatcher) List(ctx context.Context) ([]Hook, error) {
	all, err := d.load(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Hook, len(all))
	for i, s := range all {
		out[i] = s.Hook
	}
	return out, nil
}

// Get answers the hook with id id.
func (d *Dispatcher) Get(ctx context.Context, id string) (Hook, error) {
	s, err := d.get(ctx, id)
	if err != nil {
		return Hook{}, err
	}
	return s.Hook, nil
}

func (d *Dispatcher) get(ctx context.Context, id string) (stored, error) {
	v, err := d.rdb.HMGet(ctx, d.ks.Webhook(id), "hook", "since").Result()
	if err != nil {
		return stored{}, fmt.Errorf("read webhook %s: %w", id, err)
	}
	s, ok, err := parseStored(id, v)
	if err != nil {
		return stored{}, err
	}
	if !ok {
		return stored{}, core.NotFound("no webhook %q", id)
	}
	return s, nil
}

// load answers every hook, in the order of registration.
func (d *Dispatcher) load(ctx context.Context) ([]stored, error) {
	ids, err := d.rdb.ZRange(ctx, d.hooksKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	p := d.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HMGet(ctx, d.ks.Webhook(id), "hook", "since")
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	out := make([]stored, 0, len(ids))
	for i, c := range cmds {
		s, ok, err := parseStored(ids[i], c.Val())
		if err != nil {
			return nil, err
		}
		if ok { // else deleted since the ZRANGE
			out = append(out, s)
		}
	}
	return out, nil
}

// parseStored reads the fields hook and since of a hook's hash; ok is false
// when the hash does not exist.
func parseStored(id string, v []any) (s stored, ok bool, err error) {
	js, _ := v[0].(string)
	if js == "" {
		return stored{}, false, nil
	}
	if err := json.Unmarshal([]byte(js), &s.Hook); err != nil {
		return stored{}, false, fmt.Errorf("read webhook %s: %w", id, err)
	}
	s.since, _ = v[1].(string)
	return s, true, nil
}

// Delete removes the hook with id id, its log and its pending retries.
func (d *Dispatcher) Delete(ctx context.Context, id string) error {
	ok, err := deleteScript.Run(ctx, d.rdb,
		[]string{d.hooksKey, d.ks.Webhook(id), d.ks.WebhookLog(id), d.retryKey, d.flightKey}, deleteArgs{ID: id}).Int()
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if ok == 0 {
		return core.NotFound("no webhook %q", id)
	}
	d.deleted.Store(id, true) // a post of this process not yet begun is not made
	d.log.InfoContext(ctx, "webhook deleted", "hook", id)
	return nil
}

// redacted is a URL for logs: without the password nor the query it may
// hold (a token in ?token=…).
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	return u.Redacted()
}

// notInURI tells whether c may not appear in a URI as it is (RFC 3986): a
// space, a control character, one outside ASCII, or one of "<>\^`{|}.
func notInURI(c rune) bool {
	return c <= ' ' || c >= 0x7f || strings.ContainsRune("\"<>\\^`{|}", c)
}
