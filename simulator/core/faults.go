package core

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
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
// after a time drawn from Time, it approves it with probability
// ApproveRatio, else returns it.
type Review struct {
	Time         Delay
	ApproveRatio float64
}

// Resend policies.
const (
	ResendNewCode  = "new_code"  // a resend issues a new code; the old one stops working
	ResendSameCode = "same_code" // a resend sends the current code again
)

// Modes of an outage or a throttle: what becomes of the messages it stops.
const (
	ModeHold   = "hold"   // held, and sent on when the outage ends or the rate allows
	ModeRefuse = "refuse" // refused: the delivery fails
)

// Outage is a window of simulated time during which a carrier (the numbers
// starting with one of Prefixes) holds or refuses messages.
type Outage struct {
	Carrier  string    // a known carrier (china_mobile, china_unicom, china_telecom) or a name of the test's
	Prefixes []string  // number prefixes; empty: the known carrier's
	Start    time.Time // inclusive
	End      time.Time // exclusive: held messages go out at End
	Mode     string
}

// Equal tells whether o and x are the same outage.
func (o Outage) Equal(x Outage) bool {
	return o.Carrier == x.Carrier && slices.Equal(o.Prefixes, x.Prefixes) && o.Start.Equal(x.Start) && o.End.Equal(x.End) && o.Mode == x.Mode
}

// Throttle is a token-bucket rate limit: at most Limit messages per Per,
// with bursts of up to Burst, for a sender or for a carrier's numbers.
type Throttle struct {
	Sender   string // a sender number; or "miit" for MIIT's senders
	Carrier  string
	Prefixes []string
	Limit    int
	Per      time.Duration
	Burst    int
	Mode     string
}

// Faults is the fault profile: the lags, delays and failure rates that the
// simulator applies, shared by every process on one Redis.
type Faults struct {
	SyncLag              Delay            // provider → MIIT
	ResultSyncLag        Delay            // MIIT → provider
	SMSDelay             Delay            // gateway delay of every message
	SenderDelays         map[string]Delay // gateway delay by sender ("miit": MIIT's senders), instead of SMSDelay
	SpamBlockRate        float64          // share of messages a phone files as spam
	DropRate             float64          // share of messages the network loses
	DuplicateRate        float64          // share of messages delivered twice
	ReorderRate          float64          // share of messages held back by up to ReorderMax more
	ReorderMax           time.Duration
	Outages              []Outage
	Throttles            []Throttle
	SpuriousNotFoundRate float64       // share of validations MIIT answers not_found whatever the data
	LostCodeRate         float64       // share of code messages MIIT says it sent but never hands to the network
	MIITSendDelay        Delay         // how long MIIT takes to send a code once the order synced
	ResendPolicy         string        // new_code or same_code
	ValidationWindow     time.Duration // from codes sent to automatic cancel
	AutoResendNoon       bool          // re-send current codes at 12:00 CST the next day
	MagicNumbers         bool          // the numbers of MagicNumbers have their faults
	Review               Review
	// Retention is how long (real time) the namespace keeps what is
	// finished — an order approved, returned, rejected or canceled, a
	// message delivered or failed, a phone's folders from their last
	// delivery — before Redis lets it expire; 0 keeps it. nil: the
	// process's default (--retention, Limits.Retention).
	Retention *time.Duration
	// Language is the language of MIIT's answers and of the code and
	// notice messages (LanguageEnglish, LanguageChinese); "": the
	// process's default (--language).
	Language string
	// Texts replace texts of the language by the namespace's own: text id
	// (TextIDs) → template with its placeholders.
	Texts map[TextID]string
	// CodeSender is the sender of MIIT's messages: a MIIT sender number,
	// or CodeSenderCarrier (each phone's carrier picks it); "": the
	// process's (--miit-sender).
	CodeSender string
	// APIFaults are the faults of smsim's own API, by route (apifaults.go);
	// nil: none.
	APIFaults []APIFault
}

// DefaultFaults is the start value of the fault profile.
func DefaultFaults() Faults {
	return Faults{
		SyncLag:          Uniform(30*time.Minute, 60*time.Minute),
		ResultSyncLag:    Uniform(1*time.Minute, 5*time.Minute),
		SMSDelay:         Uniform(0, 0),
		SenderDelays:     map[string]Delay{},
		ReorderMax:       5 * time.Minute,
		Outages:          []Outage{},
		Throttles:        []Throttle{},
		MIITSendDelay:    Fixed(0),
		ResendPolicy:     ResendNewCode,
		ValidationWindow: 24 * time.Hour,
		MagicNumbers:     true,
		Review:           Review{Time: Uniform(24*time.Hour, 480*time.Hour), ApproveRatio: 1},
		Texts:            map[TextID]string{},
	}
}

// DelayFor is the gateway delay of messages from sender.
func (f Faults) DelayFor(sender string, miit bool) Delay {
	if d, ok := f.SenderDelays[sender]; ok {
		return d
	}
	if d, ok := f.SenderDelays["miit"]; ok && miit {
		return d
	}
	return f.SMSDelay
}

// The wire form of the profile: durations are Go duration strings.
type reviewJSON struct {
	DelayJSON
	ApproveRatio float64 `json:"approve_ratio"`
}

type outageJSON struct {
	Carrier  string   `json:"carrier,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Mode     string   `json:"mode"`
}

type throttleJSON struct {
	Sender   string   `json:"sender,omitempty"`
	Carrier  string   `json:"carrier,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	Limit    int      `json:"limit"`
	Per      string   `json:"per"`
	Burst    int      `json:"burst,omitempty"`
	Mode     string   `json:"mode"`
}

type faultsJSON struct {
	SyncLag              DelayJSON            `json:"sync_lag"`
	ResultSyncLag        DelayJSON            `json:"result_sync_lag"`
	SMSDelay             DelayJSON            `json:"sms_delay"`
	SenderDelays         map[string]DelayJSON `json:"sender_delays"`
	SpamBlockRate        float64              `json:"spam_block_rate"`
	DropRate             float64              `json:"drop_rate"`
	DuplicateRate        float64              `json:"duplicate_rate"`
	ReorderRate          float64              `json:"reorder_rate"`
	ReorderMax           string               `json:"reorder_max"`
	Outages              []outageJSON         `json:"outages"`
	Throttles            []throttleJSON       `json:"throttles"`
	SpuriousNotFoundRate float64              `json:"spurious_not_found_rate"`
	LostCodeRate         float64              `json:"lost_code_rate"`
	MIITSendDelay        DelayJSON            `json:"miit_send_delay"`
	ResendPolicy         string               `json:"resend_policy"`
	ValidationWindow     string               `json:"validation_window"`
	AutoResendNoon       bool                 `json:"auto_resend_noon"`
	MagicNumbers         bool                 `json:"magic_numbers"`
	Review               reviewJSON           `json:"review"`
	Retention            *string              `json:"retention,omitempty"`
	Language             string               `json:"language,omitempty"`
	Texts                map[string]string    `json:"texts,omitempty"`
	CodeSender           string               `json:"code_sender,omitempty"`
	APIFaults            []apiFaultJSON       `json:"api_faults,omitempty"`

	// the senders of sender_delays given as null: no entry, their start
	// value, as in a merge patch
	nullSenders map[string]bool
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

// MarshalJSON writes the profile in its wire form.
func (f Faults) MarshalJSON() ([]byte, error) {
	w := faultsJSON{
		SyncLag: f.SyncLag.wire(), ResultSyncLag: f.ResultSyncLag.wire(), SMSDelay: f.SMSDelay.wire(),
		SenderDelays:  map[string]DelayJSON{},
		SpamBlockRate: f.SpamBlockRate, DropRate: f.DropRate, DuplicateRate: f.DuplicateRate,
		ReorderRate: f.ReorderRate, ReorderMax: FormatDuration(f.ReorderMax),
		Outages: []outageJSON{}, Throttles: []throttleJSON{},
		SpuriousNotFoundRate: f.SpuriousNotFoundRate, LostCodeRate: f.LostCodeRate,
		MIITSendDelay: f.MIITSendDelay.wire(), ResendPolicy: f.ResendPolicy,
		ValidationWindow: FormatDuration(f.ValidationWindow), AutoResendNoon: f.AutoResendNoon,
		MagicNumbers: f.MagicNumbers,
		Review:       reviewJSON{f.Review.Time.wire(), f.Review.ApproveRatio},
		Language:     f.Language, CodeSender: f.CodeSender,
		APIFaults: apiFaultsWire(f.APIFaults),
	}
	if len(f.Texts) > 0 {
		w.Texts = map[string]string{}
		for id, t := range f.Texts {
			w.Texts[id] = t
		}
	}
	if f.Retention != nil {
		r := FormatDuration(*f.Retention)
		w.Retention = &r
	}
	for k, d := range f.SenderDelays {
		w.SenderDelays[k] = d.wire()
	}
	for _, o := range f.Outages {
		w.Outages = append(w.Outages, outageJSON{Carrier: o.Carrier, Prefixes: o.Prefixes,
			Start: o.Start.UTC().Format(time.RFC3339Nano), End: o.End.UTC().Format(time.RFC3339Nano), Mode: o.Mode})
	}
	for _, t := range f.Throttles {
		w.Throttles = append(w.Throttles, throttleJSON{Sender: t.Sender, Carrier: t.Carrier, Prefixes: t.Prefixes,
			Limit: t.Limit, Per: FormatDuration(t.Per), Burst: t.Burst, Mode: t.Mode})
	}
	return json.Marshal(w)
}

// ParseFaults reads a whole profile from JSON: every field it omits takes
// its start value, and its delays are read against their start values
// (readDelay); an unknown field, a value of the wrong type or out of range,
// a field of another delay model, a string that is not valid UTF-8 is an
// *Error naming the field.
func ParseFaults(body []byte) (Faults, error) { return parseFaults(body, nil, nil) }

// parseFaults reads a whole profile from JSON, whose delays are those the
// merge patch patch gives read against cur, the stored profile it was
// applied to (nil: none stored), or with no patch those body gives read
// against their start values.
func parseFaults(body []byte, patch, cur map[string]any) (Faults, error) {
	var doc map[string]any
	if unmarshalExact(body, &doc) == nil && doc != nil {
		if err := CheckUTF8(body); err != nil { // before its strings are written anew
			return Faults{}, err
		}
		body = mustJSON(doc)
	}
	req := doc
	if patch != nil {
		req = patch
	}
	delays, err := readFaultDelays(req, cur)
	if err != nil {
		return Faults{}, err
	}
	w := faultsJSON{}
	if err := json.Unmarshal(mustJSON(DefaultFaults()), &w); err != nil {
		return Faults{}, err
	}
	if err := DecodeProfileBytes(body, &w); err != nil {
		return Faults{}, err
	}
	if senders, ok := doc["sender_delays"].(map[string]any); ok {
		for sender, d := range senders {
			if d == nil {
				if w.nullSenders == nil {
					w.nullSenders = map[string]bool{}
				}
				w.nullSenders[sender] = true
			}
		}
	}
	w.setDelays(delays)
	return w.parse()
}

// startFaults is the start value of the profile as a JSON document.
var startFaults = sync.OnceValue(func() map[string]any {
	var doc map[string]any
	if err := json.Unmarshal(mustJSON(DefaultFaults()), &doc); err != nil {
		panic(err)
	}
	return doc
})

// faultDelayKeys are the profile's fields that are a delay.
var faultDelayKeys = []string{"sync_lag", "result_sync_lag", "sms_delay", "miit_send_delay", "review"}

// readFaultDelays reads each delay a request to change the profile gives
// (readDelay), a whole profile or a merge patch, against cur, the profile
// it changes (nil: none stored), and the start values: the delay by its
// field as a detail names it.
func readFaultDelays(req, cur map[string]any) (map[string]DelayJSON, error) {
	out := map[string]DelayJSON{}
	read := func(field string, given, cur, start any, extra ...string) error {
		g, ok := given.(map[string]any)
		if !ok {
			return nil
		}
		c, _ := cur.(map[string]any)
		st, _ := start.(map[string]any)
		d, ok, err := readDelay(field, g, c, st, extra...)
		if ok {
			out[field] = d
		}
		return err
	}
	start := startFaults()
	for _, k := range faultDelayKeys {
		if err := read(k, req[k], cur[k], start[k], "approve_ratio"); err != nil {
			return nil, err
		}
	}
	if sd, ok := req["sender_delays"].(map[string]any); ok {
		stored, _ := cur["sender_delays"].(map[string]any)
		for _, sender := range slices.Sorted(maps.Keys(sd)) {
			if err := read("sender_delays."+sender, sd[sender], stored[sender], nil); err != nil {
				return nil, err
			}
		}
	}
	// a merge patch replaces api_faults whole: their latencies change none
	list, _ := req["api_faults"].([]any)
	for i, x := range list {
		entry, _ := x.(map[string]any)
		field := fmt.Sprintf("api_faults[%d]", i)
		if err := read(field+".latency", entry["latency"], nil, nil); err != nil {
			return nil, err
		}
		steps, _ := entry["next"].([]any)
		for j, y := range steps {
			step, _ := y.(map[string]any)
			if err := read(fmt.Sprintf("%s.next[%d].latency", field, j), step["latency"], nil, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// setDelays puts in the profile read from a request the delays read from
// it (readFaultDelays), each in place of the object decoded, which the
// start value's fields may fill out.
func (w *faultsJSON) setDelays(ds map[string]DelayJSON) {
	for field, d := range ds {
		switch field {
		case "sync_lag":
			w.SyncLag = d
		case "result_sync_lag":
			w.ResultSyncLag = d
		case "sms_delay":
			w.SMSDelay = d
		case "miit_send_delay":
			w.MIITSendDelay = d
		case "review":
			w.Review.DelayJSON = d
		default:
			if sender, ok := strings.CutPrefix(field, "sender_delays."); ok {
				if _, ok := w.SenderDelays[sender]; ok {
					w.SenderDelays[sender] = d
				}
			}
		}
	}
	for i := range w.APIFaults {
		field := fmt.Sprintf("api_faults[%d]", i)
		if d, ok := ds[field+".latency"]; ok && w.APIFaults[i].Latency != nil {
			w.APIFaults[i].Latency = &d
		}
		for j := range w.APIFaults[i].Next {
			if d, ok := ds[fmt.Sprintf("%s.next[%d].latency", field, j)]; ok && w.APIFaults[i].Next[j].Latency != nil {
				w.APIFaults[i].Next[j].Latency = &d
			}
		}
	}
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
	f.SyncLag = p.delay("sync_lag", w.SyncLag)
	f.ResultSyncLag = p.delay("result_sync_lag", w.ResultSyncLag)
	f.SMSDelay = p.delay("sms_delay", w.SMSDelay)
	f.SenderDelays = map[string]Delay{}
	for sender, d := range w.SenderDelays {
		if sender != "miit" && !senderPattern.MatchString(sender) {
			p.fail("sender_delays: %q is neither a sender number (1 to 21 digits) nor \"miit\"", sender)
		}
		if w.nullSenders[sender] {
			continue
		}
		f.SenderDelays[sender] = p.delay("sender_delays."+sender, d)
	}
	f.SpamBlockRate = p.rate("spam_block_rate", w.SpamBlockRate)
	f.DropRate = p.rate("drop_rate", w.DropRate)
	f.DuplicateRate = p.rate("duplicate_rate", w.DuplicateRate)
	f.ReorderRate = p.rate("reorder_rate", w.ReorderRate)
	f.ReorderMax = p.dur("reorder_max", w.ReorderMax)
	f.Outages = []Outage{}
	for i, o := range w.Outages {
		f.Outages = append(f.Outages, p.outage(fmt.Sprintf("outages[%d]", i), o))
	}
	f.Throttles = []Throttle{}
	for i, t := range w.Throttles {
		f.Throttles = append(f.Throttles, p.throttle(fmt.Sprintf("throttles[%d]", i), t))
	}
	f.SpuriousNotFoundRate = p.rate("spurious_not_found_rate", w.SpuriousNotFoundRate)
	f.LostCodeRate = p.rate("lost_code_rate", w.LostCodeRate)
	f.MIITSendDelay = p.delay("miit_send_delay", w.MIITSendDelay)
	f.ResendPolicy = w.ResendPolicy
	if f.ResendPolicy != ResendNewCode && f.ResendPolicy != ResendSameCode {
		p.fail("resend_policy: must be %q or %q, got %q", ResendNewCode, ResendSameCode, w.ResendPolicy)
	}
	f.ValidationWindow = p.dur("validation_window", w.ValidationWindow)
	if f.ValidationWindow <= 0 {
		p.fail("validation_window: must be more than 0, got %q", w.ValidationWindow)
	}
	f.AutoResendNoon = w.AutoResendNoon
	f.MagicNumbers = w.MagicNumbers
	f.Review = Review{Time: p.delay("review", w.Review.DelayJSON), ApproveRatio: p.rate("review.approve_ratio", w.Review.ApproveRatio)}
	if w.Retention != nil {
		r := p.dur("retention", *w.Retention)
		f.Retention = &r
	}
	f.Language, f.Texts, f.CodeSender = p.wording(w.Language, w.Texts, w.CodeSender)
	f.APIFaults = p.apiFaults(w.APIFaults)
	return f, p.err
}

func (p *parser) outage(field string, w outageJSON) Outage {
	o := Outage{Carrier: w.Carrier, Prefixes: w.Prefixes, Mode: w.Mode}
	o.Prefixes = p.prefixes(field, w.Carrier, w.Prefixes)
	o.Start = p.time(field+".start", w.Start)
	o.End = p.time(field+".end", w.End)
	if p.err == nil && !o.End.After(o.Start) {
		p.fail("%s.end: must be after start (%s), got %q", field, w.Start, w.End)
	}
	p.mode(field+".mode", w.Mode)
	return o
}

func (p *parser) throttle(field string, w throttleJSON) Throttle {
	t := Throttle{Sender: w.Sender, Carrier: w.Carrier, Limit: w.Limit, Burst: w.Burst, Mode: w.Mode}
	switch {
	case w.Sender != "" && (w.Carrier != "" || len(w.Prefixes) > 0):
		p.fail("%s: give a sender or a carrier, not both", field)
	case w.Sender != "":
		if w.Sender != "miit" && !senderPattern.MatchString(w.Sender) {
			p.fail("%s.sender: %q is neither a sender number (1 to 21 digits) nor \"miit\"", field, w.Sender)
		}
	default:
		t.Prefixes = p.prefixes(field, w.Carrier, w.Prefixes)
	}
	if t.Limit < 1 {
		p.fail("%s.limit: must be at least 1 message, got %d", field, w.Limit)
	}
	t.Per = p.dur(field+".per", w.Per)
	if t.Per <= 0 {
		p.fail("%s.per: must be more than 0, got %q", field, w.Per)
	}
	if t.Burst == 0 {
		t.Burst = t.Limit
	}
	if t.Burst < 1 {
		p.fail("%s.burst: must be 1 or more, or 0 for as many as limit, got %d", field, w.Burst)
	}
	p.mode(field+".mode", w.Mode)
	return t
}

func (p *parser) prefixes(field, carrier string, prefixes []string) []string {
	if len(prefixes) == 0 {
		known, ok := Carriers[carrier]
		if !ok {
			p.fail("%s.carrier: %q is not one of %s; name another with its prefixes", field, carrier, strings.Join(CarrierNames(), ", "))
		}
		return known
	}
	for _, x := range prefixes {
		if !prefixPattern.MatchString(x) {
			p.fail("%s.prefixes: %q is not the start of a mobile number (1 to 11 digits starting with 1)", field, x)
		}
	}
	return prefixes
}

func (p *parser) mode(field, m string) {
	if m != ModeHold && m != ModeRefuse {
		p.fail("%s: must be %q or %q, got %q", field, ModeHold, ModeRefuse, m)
	}
}

func (p *parser) time(field, s string) time.Time {
	if p.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.fail("%s: %q is not an RFC 3339 time such as \"2026-05-01T08:00:00Z\"", field, s)
	}
	if y := t.UTC().Year(); err == nil && (y < 0 || y > 9999) { // its offset takes it past what RFC 3339 writes
		p.fail("%s: %q is in the year %d in UTC; give a time from year 0000 to 9999 in UTC", field, s, y)
	}
	return t.UTC()
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = Invalid(format, args...)
	}
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

func (p *parser) rate(field string, v float64) float64 {
	if p.err == nil && (math.IsNaN(v) || v < 0 || v > 1) {
		p.err = Invalid("%s: must be a rate from 0 to 1, got %v", field, v)
	}
	return v
}

// ParseDuration reads a Go duration string for field: not negative, at most
// MaxDuration. A minus sign is refused even on a zero ("-0s"), as the
// document's Duration pattern does.
func ParseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, Invalid("%s: missing; give a duration such as \"45m\"", field)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, Invalid("%s: %q is not a duration such as \"45m\" or \"24h\"", field, s)
	}
	if d < 0 || strings.HasPrefix(s, "-") {
		return 0, Invalid("%s: must not be negative, got %q", field, s)
	}
	if d > MaxDuration {
		return 0, Invalid("%s: must be at most %s, got %q", field, MaxDuration, s)
	}
	return d, nil
}

// FaultStore keeps the fault profile in Redis.
type FaultStore struct {
	rdb   redis.UniversalClient
	key   string
	clock string // the clock's key, whose hash mirrors the profile's SHA-1 (Expect)
}

// NewFaultStore returns the profile store of keyspace ks.
func NewFaultStore(rdb redis.UniversalClient, ks Keyspace) *FaultStore {
	return &FaultStore{rdb: rdb, key: ks.Faults(), clock: ks.Clock()}
}

// The profile is stored as the SHA-1 of its JSON, 40 hex digits, then the
// JSON: a script checks that the profile it was planned with is still the
// stored one (the prelude's stale, against Expect.Faults) by reading those
// 40 bytes, not by reading the whole profile and hashing it at every call
// (a tenth of what Redis does for a validation). A profile stored by an
// older version, the JSON alone (it begins with "{"), still reads, and
// is hashed where it is checked.
const storedSHALen = 2 * sha1.Size

// storedFaults answers the stored form of the profile's JSON b.
func storedFaults(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:]) + string(b)
}

// storedJSON answers the JSON of the stored profile raw, in either form.
func storedJSON(raw []byte) []byte {
	if hasStoredSHA(raw) {
		return raw[storedSHALen:]
	}
	return raw
}

// storedSHA answers the SHA-1 (hex) of the JSON of the stored profile raw,
// in either form: read where it is stored, computed where it is not.
func storedSHA(raw []byte) string {
	if hasStoredSHA(raw) {
		return string(raw[:storedSHALen])
	}
	h := sha1.Sum(raw)
	return hex.EncodeToString(h[:])
}

// hasStoredSHA tells whether raw begins with its JSON's SHA-1: a profile
// stored by an older version begins with "{".
func hasStoredSHA(raw []byte) bool {
	return len(raw) > storedSHALen && raw[0] != '{' && isLowerHex(raw[:storedSHALen])
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
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
	b = storedJSON(b)
	f, err := ParseFaults(b)
	if err != nil {
		return Faults{}, fmt.Errorf("stored fault profile: %w", err)
	}
	return f, nil
}

// Put replaces the profile with one read from body (ParseFaults), and
// answers it and the one it replaced.
func (s *FaultStore) Put(ctx context.Context, body []byte) (f, old Faults, err error) {
	if f, err = ParseFaults(body); err != nil {
		return Faults{}, Faults{}, err
	}
	old, err = s.Set(ctx, f)
	return f, old, err
}

// Set stores f, and answers the profile it replaced, read in the same
// step: what a change changed, whatever else changes it at once.
func (s *FaultStore) Set(ctx context.Context, f Faults) (old Faults, err error) {
	_, raw, err := s.store(ctx, nil, storedFaults(mustJSON(f)))
	if err != nil {
		return Faults{}, err
	}
	return s.before(raw), nil
}

// store stores the profile to (its stored form) — given from, only if the
// stored profile is still that one ("": none) — in the script that
// mirrors its SHA-1 in the clock's hash (faults_store.lua). It answers
// whether it stored it, and the stored profile it replaced ("": none).
func (s *FaultStore) store(ctx context.Context, from *string, to string) (bool, string, error) {
	out, err := storeScript.Run(ctx, s.rdb, []string{s.key, s.clock}, storeArgs{From: from, To: to}).StringSlice()
	if err != nil {
		return false, "", fmt.Errorf("store fault profile: %w", err)
	}
	if len(out) == 0 || out[0] != "1" {
		return false, "", nil
	}
	if len(out) != 2 {
		return false, "", fmt.Errorf("store fault profile: malformed answer %q", out)
	}
	return true, out[1], nil
}

// before reads the profile a change replaced, as stored ("": none, the
// start value); one that cannot be read counts as the start value.
func (s *FaultStore) before(raw string) Faults {
	if raw == "" {
		return DefaultFaults()
	}
	f, err := s.decode([]byte(raw))
	if err != nil {
		return DefaultFaults()
	}
	return f
}

// storeScript stores a profile, and mirrors its SHA-1 in the clock's hash;
// for a patch, only if the stored profile is still the one the patch was
// applied to.
var (
	//go:embed faults_store.lua
	storeLua    string
	storeScript = NewScript[storeArgs](storeLua)
)

type storeArgs struct {
	From *string `json:"from,omitempty"` // the stored profile it was computed from ("": none); nil: whatever is stored
	To   string  `json:"to"`
}

// Patch applies a JSON merge patch (RFC 7396) to the profile: a field set to
// null takes its start value. It answers the profile and the one it
// replaced.
func (s *FaultStore) Patch(ctx context.Context, patch []byte) (f, old Faults, err error) {
	p, err := decodePatch(patch)
	if err != nil {
		return Faults{}, Faults{}, err
	}
	for attempt := 0; attempt < 10; attempt++ {
		raw, err := s.rdb.Get(ctx, s.key).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return Faults{}, Faults{}, fmt.Errorf("read fault profile: %w", err)
		}
		f, err := applyPatch(raw, p)
		if err != nil {
			return Faults{}, Faults{}, err
		}
		ok, _, err := s.store(ctx, &raw, storedFaults(mustJSON(f)))
		if err != nil {
			return Faults{}, Faults{}, err
		}
		if ok {
			return f, s.before(raw), nil
		}
	}
	return Faults{}, Faults{}, fmt.Errorf("store fault profile: too many concurrent changes")
}

// decodePatch reads a JSON merge patch of the fault profile, a JSON object.
// A key the profile does not have is refused also when its value is null,
// which the merge would drop without a word.
func decodePatch(body []byte) (map[string]any, error) {
	var p any
	if err := DecodeStrictBytes(body, &p); err != nil {
		return nil, err
	}
	m, ok := p.(map[string]any)
	if !ok {
		return nil, Invalid("body: a merge patch of the fault profile must be a JSON object")
	}
	if err, ok := checkKeys(body, &faultsJSON{}).(*Error); ok {
		return nil, err
	}
	if sd, ok := m["sender_delays"].(map[string]any); ok {
		for sender := range sd {
			if sender != "miit" && !senderPattern.MatchString(sender) {
				return nil, Invalid("sender_delays: %q is neither a sender number (1 to 21 digits) nor \"miit\"", sender)
			}
		}
	}
	return m, nil
}

// applyPatch applies the merge patch p (decodePatch) to the stored profile
// raw ("": none, the start value) and reads the result: the delays p gives
// are read against the stored ones (readDelay), not merged with them.
func applyPatch(raw string, p map[string]any) (Faults, error) {
	cur := storedJSON([]byte(raw))
	if raw == "" {
		cur = mustJSON(DefaultFaults())
	}
	var doc any
	if err := unmarshalExact(cur, &doc); err != nil {
		return Faults{}, fmt.Errorf("stored fault profile: %w", err)
	}
	var stored map[string]any
	if raw != "" {
		stored, _ = doc.(map[string]any)
	}
	return parseFaults(mustJSON(MergePatch(doc, p)), p, stored)
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
