package client

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Delay models: how a Delay draws its durations.
const (
	ModelFixed     = "fixed"     // always Value
	ModelUniform   = "uniform"   // uniform in [Min, Max]
	ModelLogNormal = "lognormal" // log-normal with the given Median and 99th percentile: SMS's long tail
)

// Delay is a distribution of durations: how long the network holds a
// message, how long a review takes. Build one with Fixed, Uniform or
// LogNormal; a Delay without a Model is uniform.
type Delay struct {
	Model  string
	Value  time.Duration // fixed
	Min    time.Duration // uniform
	Max    time.Duration // uniform
	Median time.Duration // lognormal
	P99    time.Duration // lognormal
}

// Fixed is the delay that is always d.
func Fixed(d time.Duration) Delay { return Delay{Model: ModelFixed, Value: d} }

// Uniform is the uniform delay in [min, max].
func Uniform(min, max time.Duration) Delay { return Delay{Model: ModelUniform, Min: min, Max: max} }

// LogNormal is the log-normal delay with the given median and 99th
// percentile: most draws near the median, a long tail up to p99 and
// beyond.
func LogNormal(median, p99 time.Duration) Delay {
	return Delay{Model: ModelLogNormal, Median: median, P99: p99}
}

// delayJSON is the wire form of a Delay: the model and its fields alone,
// as Go duration strings.
type delayJSON struct {
	Model  string `json:"model,omitempty"`
	Value  string `json:"value,omitempty"`
	Min    string `json:"min,omitempty"`
	Max    string `json:"max,omitempty"`
	Median string `json:"median,omitempty"`
	P99    string `json:"p99,omitempty"`
}

func (d Delay) wire() delayJSON {
	switch d.Model {
	case ModelFixed:
		return delayJSON{Model: ModelFixed, Value: formatDuration(d.Value)}
	case ModelLogNormal:
		return delayJSON{Model: ModelLogNormal, Median: formatDuration(d.Median), P99: formatDuration(d.P99)}
	}
	return delayJSON{Model: ModelUniform, Min: formatDuration(d.Min), Max: formatDuration(d.Max)}
}

// delay reads the wire form. A delay that names no model has the one its
// fields say, as the server reads it: value fixed, median or p99
// lognormal, else uniform.
func (w delayJSON) delay() (Delay, error) {
	model := w.Model
	if model == "" {
		switch {
		case w.Value != "":
			model = ModelFixed
		case w.Median != "" || w.P99 != "":
			model = ModelLogNormal
		default:
			model = ModelUniform
		}
	}
	var p durations
	var d Delay
	switch model {
	case ModelFixed:
		d = Fixed(p.parse("value", w.Value))
	case ModelUniform:
		d = Uniform(p.parse("min", w.Min), p.parse("max", w.Max))
	case ModelLogNormal:
		d = LogNormal(p.parse("median", w.Median), p.parse("p99", w.P99))
	default:
		return Delay{}, fmt.Errorf("model: %q is not %s, %s or %s", w.Model, ModelFixed, ModelUniform, ModelLogNormal)
	}
	return d, p.err
}

// MarshalJSON writes the delay in its wire form:
// {"model": "uniform", "min": "1m", "max": "5m"}.
func (d Delay) MarshalJSON() ([]byte, error) { return json.Marshal(d.wire()) }

// UnmarshalJSON reads the delay from its wire form.
func (d *Delay) UnmarshalJSON(b []byte) error {
	var w delayJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := w.delay()
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Review is how the communications administration reviews an order: after
// a time drawn from Time, it approves it with probability ApproveRatio,
// else returns it.
type Review struct {
	Time         Delay
	ApproveRatio float64
}

// reviewJSON is the wire form of a Review: the delay's fields and the
// ratio in one object.
type reviewJSON struct {
	delayJSON
	ApproveRatio float64 `json:"approve_ratio"`
}

// MarshalJSON writes the review in its wire form:
// {"model": "uniform", "min": "24h", "max": "480h", "approve_ratio": 1}.
func (r Review) MarshalJSON() ([]byte, error) {
	return json.Marshal(reviewJSON{r.Time.wire(), r.ApproveRatio})
}

// UnmarshalJSON reads the review from its wire form.
func (r *Review) UnmarshalJSON(b []byte) error {
	var w reviewJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d, err := w.delay()
	if err != nil {
		return err
	}
	*r = Review{Time: d, ApproveRatio: w.ApproveRatio}
	return nil
}

// Resend policies: what MIIT texts when a person asks for their code
// again.
const (
	ResendNewCode  = "new_code"  // a new code; the old one stops working
	ResendSameCode = "same_code" // the current code again
)

// Modes of an outage or a throttle: what becomes of the messages it stops.
const (
	ModeHold   = "hold"   // held, and sent on when the outage ends or the rate allows
	ModeRefuse = "refuse" // refused: the delivery fails
)

// The carriers the server knows: an Outage or a Throttle that names one of
// them and gives no prefixes covers its numbers.
const (
	CarrierChinaMobile  = "china_mobile"
	CarrierChinaUnicom  = "china_unicom"
	CarrierChinaTelecom = "china_telecom"
)

// Outage is a window of simulated time during which a carrier (the numbers
// starting with one of Prefixes) holds or refuses messages.
type Outage struct {
	Carrier  string    // a known carrier (CarrierChinaMobile, …) or a name of the test's
	Prefixes []string  // number prefixes; empty: the known carrier's (the server fills them in)
	Start    time.Time // inclusive
	End      time.Time // exclusive: held messages go out at End
	Mode     string    // ModeHold or ModeRefuse
}

type outageJSON struct {
	Carrier  string   `json:"carrier,omitempty"`
	Prefixes []string `json:"prefixes,omitempty"`
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Mode     string   `json:"mode"`
}

// MarshalJSON writes the outage in its wire form, its times in RFC 3339
// (UTC).
func (o Outage) MarshalJSON() ([]byte, error) {
	return json.Marshal(outageJSON{Carrier: o.Carrier, Prefixes: o.Prefixes,
		Start: formatTime(o.Start), End: formatTime(o.End), Mode: o.Mode})
}

// UnmarshalJSON reads the outage from its wire form.
func (o *Outage) UnmarshalJSON(b []byte) error {
	var w outageJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	start, err := parseTime("start", w.Start)
	if err != nil {
		return err
	}
	end, err := parseTime("end", w.End)
	if err != nil {
		return err
	}
	*o = Outage{Carrier: w.Carrier, Prefixes: w.Prefixes, Start: start, End: end, Mode: w.Mode}
	return nil
}

// Throttle is a token-bucket rate limit: at most Limit messages per Per,
// with bursts of up to Burst, for a sender or for a carrier's numbers.
type Throttle struct {
	Sender   string // a sender number, or "miit" for MIIT's senders
	Carrier  string // or a carrier: a known one, or a name of the test's with Prefixes
	Prefixes []string
	Limit    int
	Per      time.Duration
	Burst    int    // 0: Limit
	Mode     string // ModeHold or ModeRefuse
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

// MarshalJSON writes the throttle in its wire form.
func (t Throttle) MarshalJSON() ([]byte, error) {
	return json.Marshal(throttleJSON{Sender: t.Sender, Carrier: t.Carrier, Prefixes: t.Prefixes,
		Limit: t.Limit, Per: formatDuration(t.Per), Burst: t.Burst, Mode: t.Mode})
}

// UnmarshalJSON reads the throttle from its wire form.
func (t *Throttle) UnmarshalJSON(b []byte) error {
	var w throttleJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var p durations
	*t = Throttle{Sender: w.Sender, Carrier: w.Carrier, Prefixes: w.Prefixes, Limit: w.Limit,
		Per: p.parse("per", w.Per), Burst: w.Burst, Mode: w.Mode}
	return p.err
}

// Faults is the fault profile of a namespace: the lags, delays and failure
// rates the simulator applies. Start from DefaultFaults and change what the
// test needs.
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
	ResendPolicy         string        // ResendNewCode or ResendSameCode
	ValidationWindow     time.Duration // from codes sent to automatic cancel
	AutoResendNoon       bool          // re-send current codes at 12:00 CST the next day
	MagicNumbers         bool          // the magic numbers (199000000xx) have their faults
	Review               Review
	// Retention is how long, in real time, the namespace's store keeps
	// what is finished (orders that ended, messages delivered or failed,
	// phones' folders) before forgetting it; 0: as long as the namespace.
	// nil: the server's --retention. It bounds memory only: outcomes are
	// decided by the simulated clock.
	Retention *time.Duration
	// Language is the language of MIIT's answers and of the code and
	// notice messages: LanguageEnglish or LanguageChinese; "": the
	// server's --language.
	Language string
	// Texts replace texts of the language by the namespace's own (what a
	// team's phones show): text id (TextSMSCode, …) → template with its
	// placeholders ({code}, {window}, {order}, {sender}).
	Texts map[string]string
	// CodeSender is the sender of MIIT's messages: 12381, a 106…12381
	// number, a carrier's sender, or CodeSenderCarrier (each phone's
	// carrier picks it); "": the server's --miit-sender.
	CodeSender string
	// APIFaults are the faults of smsim's own API, by route: latency,
	// errors, dropped connections, scripts of the next calls (APIFault).
	APIFaults []APIFault
}

// Languages of the texts (Faults.Language).
const (
	LanguageEnglish = "en"
	LanguageChinese = "zh"
)

// CodeSenderCarrier, as Faults.CodeSender, lets each phone's carrier pick
// the sender of MIIT's messages: CarrierSenders, a virtual operator's
// changing 106…12381 number, else the server's.
const CodeSenderCarrier = "carrier"

// Ids of the texts a namespace may replace (Faults.Texts).
const (
	TextIDValidationComplete = "validation.complete"
	TextIDValidationPartial  = "validation.partial"
	TextIDValidationFailed   = "validation.failed"
	TextIDValidationNotFound = "validation.not_found"
	TextIDResendResent       = "resend.resent"
	TextIDResendNoPending    = "resend.no_pending"
	TextIDResendNotFound     = "resend.not_found"
	TextIDResendLimitReached = "resend.limit_reached"
	TextIDSMSCode            = "sms.code"   // takes {code} (required) and {window}
	TextIDSMSNotice          = "sms.notice" // takes {order}, {sender} and {window}
)

// DefaultFaults is the start value of the fault profile: what a namespace
// has before a test changes it and after a reset.
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
	}
}

// faultsJSON is the wire form of Faults, field for field in the server's
// order.
type faultsJSON struct {
	SyncLag              Delay             `json:"sync_lag"`
	ResultSyncLag        Delay             `json:"result_sync_lag"`
	SMSDelay             Delay             `json:"sms_delay"`
	SenderDelays         map[string]Delay  `json:"sender_delays"`
	SpamBlockRate        float64           `json:"spam_block_rate"`
	DropRate             float64           `json:"drop_rate"`
	DuplicateRate        float64           `json:"duplicate_rate"`
	ReorderRate          float64           `json:"reorder_rate"`
	ReorderMax           string            `json:"reorder_max"`
	Outages              []Outage          `json:"outages"`
	Throttles            []Throttle        `json:"throttles"`
	SpuriousNotFoundRate float64           `json:"spurious_not_found_rate"`
	LostCodeRate         float64           `json:"lost_code_rate"`
	MIITSendDelay        Delay             `json:"miit_send_delay"`
	ResendPolicy         string            `json:"resend_policy"`
	ValidationWindow     string            `json:"validation_window"`
	AutoResendNoon       bool              `json:"auto_resend_noon"`
	MagicNumbers         bool              `json:"magic_numbers"`
	Review               Review            `json:"review"`
	Retention            *string           `json:"retention,omitempty"`
	Language             string            `json:"language,omitempty"`
	Texts                map[string]string `json:"texts,omitempty"`
	CodeSender           string            `json:"code_sender,omitempty"`
	APIFaults            []APIFault        `json:"api_faults,omitempty"`
}

func (f Faults) wire() faultsJSON {
	w := faultsJSON{
		SyncLag: f.SyncLag, ResultSyncLag: f.ResultSyncLag, SMSDelay: f.SMSDelay, SenderDelays: f.SenderDelays,
		SpamBlockRate: f.SpamBlockRate, DropRate: f.DropRate, DuplicateRate: f.DuplicateRate,
		ReorderRate: f.ReorderRate, ReorderMax: formatDuration(f.ReorderMax),
		Outages: f.Outages, Throttles: f.Throttles,
		SpuriousNotFoundRate: f.SpuriousNotFoundRate, LostCodeRate: f.LostCodeRate,
		MIITSendDelay: f.MIITSendDelay, ResendPolicy: f.ResendPolicy,
		ValidationWindow: formatDuration(f.ValidationWindow), AutoResendNoon: f.AutoResendNoon,
		MagicNumbers: f.MagicNumbers, Review: f.Review,
		Language: f.Language, Texts: f.Texts, CodeSender: f.CodeSender, APIFaults: f.APIFaults,
	}
	if len(w.Texts) == 0 {
		w.Texts = nil
	}
	if f.Retention != nil {
		r := formatDuration(*f.Retention)
		w.Retention = &r
	}
	if w.SenderDelays == nil {
		w.SenderDelays = map[string]Delay{}
	}
	if w.Outages == nil {
		w.Outages = []Outage{}
	}
	if w.Throttles == nil {
		w.Throttles = []Throttle{}
	}
	return w
}

// MarshalJSON writes the profile in its wire form, as the server writes
// it: durations as Go duration strings ("30m", "24h"), times in RFC 3339.
func (f Faults) MarshalJSON() ([]byte, error) { return json.Marshal(f.wire()) }

// UnmarshalJSON reads a profile in its wire form; what it omits takes its
// start value (DefaultFaults).
func (f *Faults) UnmarshalJSON(b []byte) error {
	w := DefaultFaults().wire()
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var p durations
	*f = Faults{
		SyncLag: w.SyncLag, ResultSyncLag: w.ResultSyncLag, SMSDelay: w.SMSDelay, SenderDelays: w.SenderDelays,
		SpamBlockRate: w.SpamBlockRate, DropRate: w.DropRate, DuplicateRate: w.DuplicateRate,
		ReorderRate: w.ReorderRate, ReorderMax: p.parse("reorder_max", w.ReorderMax),
		Outages: w.Outages, Throttles: w.Throttles,
		SpuriousNotFoundRate: w.SpuriousNotFoundRate, LostCodeRate: w.LostCodeRate,
		MIITSendDelay: w.MIITSendDelay, ResendPolicy: w.ResendPolicy,
		ValidationWindow: p.parse("validation_window", w.ValidationWindow), AutoResendNoon: w.AutoResendNoon,
		MagicNumbers: w.MagicNumbers, Review: w.Review,
		Language: w.Language, Texts: w.Texts, CodeSender: w.CodeSender, APIFaults: w.APIFaults,
	}
	if w.Retention != nil {
		r := p.parse("retention", *w.Retention)
		f.Retention = &r
	}
	if f.SenderDelays == nil {
		f.SenderDelays = map[string]Delay{}
	}
	if f.Outages == nil {
		f.Outages = []Outage{}
	}
	if f.Throttles == nil {
		f.Throttles = []Throttle{}
	}
	return p.err
}

// formatDuration writes d as the server does, a Go duration string without
// zero units: "30m", "24h", "1h30m", "1.5s", "0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// durations parses the Go duration strings of a wire form, keeping the
// first error; an empty string is 0.
type durations struct{ err error }

func (p *durations) parse(field, s string) time.Duration {
	if s == "" || p.err != nil {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.err = fmt.Errorf("%s: %q is not a duration such as \"45m\"", field, s)
	}
	return d
}

// formatTime writes t as the server does: RFC 3339 in UTC.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time", field, s)
	}
	return t.UTC(), nil
}
