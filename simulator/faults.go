package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Range is a span of simulated time; a draw from it is uniform in
// [Min, Max].
type Range struct {
	Min time.Duration
	Max time.Duration
}

// Review is how the communications administration reviews an order:
// after a time drawn from [Min, Max], it approves it with probability
// ApproveRatio, else returns it.
type Review struct {
	Min, Max     time.Duration
	ApproveRatio float64
}

// Faults is the fault profile: the lags, delays and failure rates that the
// simulator applies, shared by every process on one Redis.
type Faults struct {
	SyncLag              Range         // provider → MIIT
	ResultSyncLag        Range         // MIIT → provider
	SMSDelay             Range         // gateway delay of every message
	SpamBlockRate        float64       // share of messages a phone files as spam
	DropRate             float64       // share of messages the network loses
	SpuriousNotFoundRate float64       // share of validations MIIT answers not_found whatever the data
	ValidationWindow     time.Duration // from codes sent to automatic cancel
	AutoResendNoon       bool          // re-send current codes at 12:00 CST the next day
	Review               Review
}

// DefaultFaults is the start value of the fault profile.
func DefaultFaults() Faults {
	return Faults{
		SyncLag:          Range{30 * time.Minute, 60 * time.Minute},
		ResultSyncLag:    Range{1 * time.Minute, 5 * time.Minute},
		ValidationWindow: 24 * time.Hour,
		Review:           Review{Min: 24 * time.Hour, Max: 480 * time.Hour, ApproveRatio: 1},
	}
}

// The wire form of the profile: durations are Go duration strings.
type rangeJSON struct {
	Min string `json:"min"`
	Max string `json:"max"`
}

type reviewJSON struct {
	Min          string  `json:"min"`
	Max          string  `json:"max"`
	ApproveRatio float64 `json:"approve_ratio"`
}

type faultsJSON struct {
	SyncLag              rangeJSON  `json:"sync_lag"`
	ResultSyncLag        rangeJSON  `json:"result_sync_lag"`
	SMSDelay             rangeJSON  `json:"sms_delay"`
	SpamBlockRate        float64    `json:"spam_block_rate"`
	DropRate             float64    `json:"drop_rate"`
	SpuriousNotFoundRate float64    `json:"spurious_not_found_rate"`
	ValidationWindow     string     `json:"validation_window"`
	AutoResendNoon       bool       `json:"auto_resend_noon"`
	Review               reviewJSON `json:"review"`
}

// FormatDuration writes d as a Go duration string without zero units:
// "30m", "24h", "1h30m", "1.5s", "0s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func fmtDuration(d time.Duration) string { return FormatDuration(d) }

func (r Range) wire() rangeJSON { return rangeJSON{fmtDuration(r.Min), fmtDuration(r.Max)} }

// MarshalJSON writes the profile in its wire form.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		SyncLag: f.SyncLag.wire(), ResultSyncLag: f.ResultSyncLag.wire(), SMSDelay: f.SMSDelay.wire(),
		SpamBlockRate: f.SpamBlockRate, DropRate: f.DropRate, SpuriousNotFoundRate: f.SpuriousNotFoundRate,
		ValidationWindow: fmtDuration(f.ValidationWindow), AutoResendNoon: f.AutoResendNoon,
		Review: reviewJSON{fmtDuration(f.Review.Min), fmtDuration(f.Review.Max), f.Review.ApproveRatio},
	})
}

// ParseFaults reads a whole profile from JSON: every field it omits takes
// its start value; an unknown field, a value of the wrong type or out of
// range is an *Error naming the field.
func ParseFaults(body []byte) (Faults, error) {
	w := faultsJSON{}
	if err := json.Unmarshal(mustJSON(DefaultFaults()), &w); err != nil {
		return Faults{}, err
	}
	if err := DecodeStrict(bytes.NewReader(body), &w); err != nil {
		return Faults{}, err
	}
	return w.parse()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (w faultsJSON) parse() (Faults, error) {
	var f Faults
	p := parser{}
	f.SyncLag = p.rng("sync_lag", w.SyncLag)
	f.ResultSyncLag = p.rng("result_sync_lag", w.ResultSyncLag)
	f.SMSDelay = p.rng("sms_delay", w.SMSDelay)
	f.SpamBlockRate = p.rate("spam_block_rate", w.SpamBlockRate)
	f.DropRate = p.rate("drop_rate", w.DropRate)
	f.SpuriousNotFoundRate = p.rate("spurious_not_found_rate", w.SpuriousNotFoundRate)
	f.ValidationWindow = p.dur("validation_window", w.ValidationWindow)
	if p.err == nil && f.ValidationWindow <= 0 {
		p.err = Invalid("validation_window: must be more than 0, got %q", w.ValidationWindow)
	}
	f.AutoResendNoon = w.AutoResendNoon
	r := p.rng("review", rangeJSON{w.Review.Min, w.Review.Max})
	f.Review = Review{Min: r.Min, Max: r.Max, ApproveRatio: p.rate("review.approve_ratio", w.Review.ApproveRatio)}
	return f, p.err
}

// parser keeps the first error of a run of field checks.
type parser struct{ err error }

// MaxDuration bounds every duration of the profile.
const MaxDuration = 10 * 365 * 24 * time.Hour

func (p *parser) dur(field, s string) time.Duration {
	if p.err != nil {
		return 0
	}
	d, err := ParseDuration(field, s)
	if err != nil {
		p.err = err
	}
	return d
}

func (p *parser) rng(field string, r rangeJSON) Range {
	out := Range{Min: p.dur(field+".min", r.Min), Max: p.dur(field+".max", r.Max)}
	if p.err == nil && out.Min > out.Max {
		p.err = Invalid("%s: min (%s) exceeds max (%s)", field, r.Min, r.Max)
	}
	return out
}

func (p *parser) rate(field string, v float64) float64 {
	if p.err == nil && (math.IsNaN(v) || v < 0 || v > 1) {
		p.err = Invalid("%s: must be a rate from 0 to 1, got %v", field, v)
	}
	return v
}

// ParseDuration reads a Go duration string for field: not negative, at most
// MaxDuration.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, Invalid("%s: missing; give a duration such as \"45m\"", field)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, Invalid("%s: %q is not a duration such as \"45m\" or \"24h\"", field, s)
	}
	if d < 0 {
		return 0, Invalid("%s: must not be negative, got %q", field, s)
	}
	if d > MaxDuration {
		return 0, Invalid("%s: must be at most %s, got %q", field, MaxDuration, s)
	}
	return d, nil
}

// FaultStore keeps the fault profile in Redis.
type FaultStore struct {
	rdb redis.UniversalClient
	key string
}

// NewFaultStore returns the profile store of keyspace ks.
func NewFaultStore(rdb redis.UniversalClient, ks Keyspace) *FaultStore {
	return &FaultStore{rdb: rdb, key: ks.Key("faults")}
}

// Get reads the profile; with none stored, the start value.
func (s *FaultStore) Get(ctx context.Context) (Faults, error) {
	b, err := s.rdb.Get(ctx, s.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return DefaultFaults(), nil
	}
	if err != nil {
		return Faults{}, fmt.Errorf("read fault profile: %w", err)
	}
	return s.decode(b)
}

// GetCmd queues a read of the profile on a pipeline; Of reads its answer.
func (s *FaultStore) GetCmd(ctx context.Context, p redis.Pipeliner) *redis.StringCmd {
	return p.Get(ctx, s.key)
}

// Of reads the profile from a GetCmd answer.
func (s *FaultStore) Of(cmd *redis.StringCmd) (Faults, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return DefaultFaults(), nil
	}
	if err != nil {
		return Faults{}, fmt.Errorf("read fault profile: %w", err)
	}
	return s.decode(b)
}

func (s *FaultStore) decode(b []byte) (Faults, error) {
	f, err := ParseFaults(b)
	if err != nil {
		return Faults{}, fmt.Errorf("stored fault profile: %w", err)
	}
	return f, nil
}

// Put replaces the profile with one read from body (ParseFaults).
func (s *FaultStore) Put(ctx context.Context, body []byte) (Faults, error) {
	f, err := ParseFaults(body)
	if err != nil {
		return Faults{}, err
	}
	return f, s.Set(ctx, f)
}

// Set stores f.
func (s *FaultStore) Set(ctx context.Context, f Faults) error {
	if err := s.rdb.Set(ctx, s.key, mustJSON(f), 0).Err(); err != nil {
		return fmt.Errorf("store fault profile: %w", err)
	}
	return nil
}

// patchScript applies a merge patch computed by the caller only if the
// stored profile is still the one it was computed from.
var patchScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

// Patch applies a JSON merge patch (RFC 7396) to the profile: a field set to
// null takes its start value.
func (s *FaultStore) Patch(ctx context.Context, patch []byte) (Faults, error) {
	var p any
	if err := DecodeStrict(bytes.NewReader(patch), &p); err != nil {
		return Faults{}, err
	}
	if _, ok := p.(map[string]any); !ok {
		return Faults{}, Invalid("body: a merge patch of the fault profile must be a JSON object")
	}
	for attempt := 0; attempt < 10; attempt++ {
		raw, err := s.rdb.Get(ctx, s.key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Faults{}, fmt.Errorf("read fault profile: %w", err)
		}
		cur := []byte(raw)
		if raw == "" {
			cur = mustJSON(DefaultFaults())
		}
		var doc any
		if err := json.Unmarshal(cur, &doc); err != nil {
			return Faults{}, fmt.Errorf("stored fault profile: %w", err)
		}
		f, err := ParseFaults(mustJSON(MergePatch(doc, p)))
		if err != nil {
			return Faults{}, err
		}
		ok, err := patchScript.Run(ctx, s.rdb, []string{s.key}, raw, mustJSON(f)).Int()
		if err != nil {
			return Faults{}, fmt.Errorf("store fault profile: %w", err)
		}
		if ok == 1 {
			return f, nil
		}
	}
	return Faults{}, fmt.Errorf("store fault profile: too many concurrent changes")
}

// MergePatch applies the JSON merge patch patch to doc (RFC 7396).
func MergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	out := make(map[string]any, len(d))
	for k, v := range d {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}
