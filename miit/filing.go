package miit

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"smsim/gateway"
	"smsim/simulator/core"
)

// MIIT's statuses of an order.
const (
	StatusUnknown           = "unknown" // not synced yet: MIIT knows nothing of it
	StatusSubmitted         = "submitted"
	StatusPendingValidation = "pending_validation"
	StatusUnderReview       = "under_review"
	StatusApproved          = "approved"
	StatusReturned          = "returned"
	StatusRejected          = "rejected"
	StatusCanceled          = "canceled"
)

// Person is someone named in an order.
type Person struct {
	Name              string `json:"name"`
	Phone             string `json:"phone"`
	CertificateNumber string `json:"certificate_number"`
}

// SubmitRequest is a filing order as the customer submits it.
type SubmitRequest struct {
	Type         string  `json:"type"`
	Variant      string  `json:"variant,omitempty"`
	EntityLeader *Person `json:"entity_leader,omitempty"`
	WebsiteAdmin *Person `json:"website_admin,omitempty"`
}

// MaxNameLen bounds a person's name, in characters.
const MaxNameLen = 100

func (p *Person) check(role string) error {
	name := strings.TrimSpace(p.Name)
	if name == "" {
		return core.Invalid("%s.name: missing", role)
	}
	if len([]rune(p.Name)) > MaxNameLen {
		return core.Invalid("%s.name: longer than %d characters", role, MaxNameLen)
	}
	phone, err := gateway.NormalizePhone(role+".phone", p.Phone)
	if err != nil {
		return err
	}
	p.Phone = phone
	if !certPattern.MatchString(p.CertificateNumber) {
		if p.CertificateNumber == "" {
			return core.Invalid("%s.certificate_number: missing", role)
		}
		return core.Invalid("%s.certificate_number: must be 6 to 32 letters and digits, got %q", role, p.CertificateNumber)
	}
	return nil
}

func last6(cert string) string { return strings.ToLower(cert[len(cert)-6:]) }

// subject is the unit MIIT texts and counts: the required people who share
// one mobile number.
type subject struct {
	phone string
	roles []string
	certs []string // last six characters, lower case
}

func subjectsOf(req SubmitRequest, required []string) []subject {
	var out []subject
	for _, role := range required {
		p := req.person(role)
		found := false
		for i := range out {
			if out[i].phone == p.Phone {
				out[i].roles = append(out[i].roles, role)
				out[i].certs = append(out[i].certs, last6(p.CertificateNumber))
				found = true
			}
		}
		if !found {
			out = append(out, subject{phone: p.Phone, roles: []string{role}, certs: []string{last6(p.CertificateNumber)}})
		}
	}
	return out
}

func (r SubmitRequest) person(role string) *Person {
	if role == EntityLeader {
		return r.EntityLeader
	}
	return r.WebsiteAdmin
}

var (
	//go:embed submit.lua
	submitLua    string
	submitScript = core.NewScript[submitArgs](luaLib, submitLua)
)

// submitArgs are the arguments of submit.lua.
type submitArgs struct {
	Expect      core.Expect `json:"expect"` // the clock and fault profile its plans were computed with
	Bounds      core.Bounds `json:"bounds"`
	ID          string      `json:"id"`
	Seq         int64       `json:"seq"`          // the order of submission; 0: the script counts it
	SubmittedAt int64       `json:"submitted_at"` // ms
	SyncDue     int64       `json:"sync_due"`     // ms
	Window      int64       `json:"window"`       // the validation window, ms
	Phones      []string    `json:"phones"`       // of the subjects
	Who         []int       `json:"who"`          // the position in KEYS of each number's index
	Notices     []notice    `json:"notices"`      // each subject's notice
	Sync        *syncArgs   `json:"sync,omitempty"`
	Fields      []string    `json:"fields"` // the order's hash: field, value, field, value…
	View        string      `json:"view"`   // the provider's view, JSON: the data of filing.submitted
}

// withTexts has the script send a's messages with their texts made in Go
// (gateway.WithTexts): the notices', then the sync's (syncArgs.withTexts).
func (a *submitArgs) withTexts() {
	from := 2
	for _, n := range a.Notices {
		from = gateway.WithTexts(n.Texts, from)
	}
	if a.Sync != nil {
		a.Sync.withTexts(from)
	}
}

// AppendTexts appends the texts of a's messages (core.TextsAppender).
func (a submitArgs) AppendTexts(b []byte, ends []int) ([]byte, []int) {
	for _, n := range a.Notices {
		b, ends = gateway.AppendTexts(n.Texts, b, ends)
	}
	if a.Sync != nil {
		b, ends = a.Sync.appendTexts(b, ends)
	}
	return b, ends
}

// notice is the provider's notice to a subject: its messages, planned
// (Texts), or none when a plan could not be made (a job sends it).
type notice struct {
	Texts []gateway.Outgoing `json:"texts,omitempty"`
}

// submitted is what submit.lua answers besides the jobs due at once.
type submitted struct {
	Notices       [][]string `json:"notices"` // the statuses of each notice's messages delivered at once
	Who           [][]string `json:"who"`     // the orders each number's index lists, the order among them
	Codes         []codeSent `json:"codes"`
	ProvStatus    string     `json:"prov_status"`
	ProvValidated string     `json:"prov_validated"`
	Sweep         []string   `json:"sweep"` // ids of the list of orders to look at (sweep.lua)
}

var (
	//go:embed sweep.lua
	sweepLua    string
	sweepScript = core.NewScript[sweepArgs](sweepLua)
)

type sweepArgs struct {
	IDs []string `json:"ids"`
}

// sweep drops from the list of orders the ids whose order expired, of the
// page a submission took: a round trip every 32nd submission, with a
// retention.
func (s *Service) sweep(ctx context.Context, ids []string) error {
	keys := []string{s.ks.Filings()}
	for _, id := range ids {
		keys = append(keys, s.ks.Filing(id))
	}
	if err := sweepScript.Run(ctx, s.rdb, keys, sweepArgs{IDs: ids}).Err(); err != nil {
		return fmt.Errorf("sweep the list of orders: %w", err)
	}
	return nil
}

// Submit takes a filing order at the provider: every required person gets
// the provider's notice at once, and the order reaches MIIT after the sync
// lag.
func (s *Service) Submit(ctx context.Context, req SubmitRequest) (ProviderView, error) {
	required, err := Required(req.Type, req.Variant)
	if err != nil {
		return ProviderView{}, err
	}
	// The people are checked and normalized in copies: the caller's
	// request stays as it was.
	for _, p := range []**Person{&req.EntityLeader, &req.WebsiteAdmin} {
		if *p != nil {
			c := **p
			*p = &c
		}
	}
	for _, role := range required {
		if req.person(role) == nil {
			return ProviderView{}, core.Invalid("%s: missing; a %s filing must name the %s", role, describe(req.Type, req.Variant), strings.ReplaceAll(role, "_", " "))
		}
	}
	for _, role := range both {
		if p := req.person(role); p != nil {
			if err := p.check(role); err != nil {
				return ProviderView{}, err
			}
		}
	}
	subjects := subjectsOf(req, required)

	id, seq, err := s.newFilingID(ctx)
	if err != nil {
		return ProviderView{}, err
	}
	people, _ := json.Marshal(map[string]*Person{EntityLeader: req.EntityLeader, WebsiteAdmin: req.WebsiteAdmin})
	for range maxStale {
		snap, err := s.state.Snapshot(ctx)
		if err != nil {
			return ProviderView{}, err
		}
		f := snap.Faults
		at := snap.Now().Now
		syncDue := at.Add(f.SyncLag.Draw(s.rand, "sync_lag", id))
		keys := core.NewKeyList(s.libKeys(s.ks.Filing(id), s.ks.Filings())...)
		args := submitArgs{Expect: snap.Expect, Bounds: snap.Bounds(), ID: id, Seq: seq, SubmittedAt: at.UnixMilli(), SyncDue: syncDue.UnixMilli(),
			Window: f.ValidationWindow.Milliseconds(), Phones: []string{}, Who: []int{}, Notices: []notice{},
			Fields: []string{
				"id", id, "type", req.Type, "variant", req.Variant, "submitted_at", strconv.FormatInt(at.UnixMilli(), 10),
				"status", StatusUnknown, "prov_status", StatusSubmitted, "version", "0", "prov_version", "0",
				"prov_validated", "", "people", string(people), "required", strings.Join(required, ","),
				"nsubj", strconv.Itoa(len(subjects)), "sync_due", strconv.FormatInt(syncDue.UnixMilli(), 10),
			}}
		for i, sj := range subjects {
			k := "s" + strconv.Itoa(i+1) + "."
			args.Fields = append(args.Fields, k+"phone", sj.phone, k+"roles", strings.Join(sj.roles, ","),
				k+"certs", ","+strings.Join(sj.certs, ",")+",", k+"code", "", k+"failures", "0", k+"resends", "0", k+"validated", "0")
			args.Phones = append(args.Phones, sj.phone)
			args.Who = append(args.Who, keys.Add(s.ks.Who(sj.phone)))
			var n notice
			if outs, ok := s.gw.Plan(f, gateway.SendRequest{ID: s.rand.DerivedID("m", s.ks.Namespace, id, "notice", strconv.Itoa(i+1)),
				From: s.providerSender, To: sj.phone, Body: s.wording(f).Notice(id, s.noticeSender(f, sj.phone), f.ValidationWindow), At: at}, keys); ok {
				n.Texts = outs
			}
			args.Notices = append(args.Notices, n)
		}
		if !syncDue.After(at) { // no sync lag: the order reaches MIIT in the same step
			sync := s.planSync(id, args.Phones, at, snap, keys)
			args.Sync = &sync
		}
		if !s.scriptTexts {
			args.withTexts()
		}
		fields := map[string]string{"id": id, "type": req.Type, "variant": req.Variant, "prov_status": StatusSubmitted,
			"required": strings.Join(required, ","), "submitted_at": strconv.FormatInt(at.UnixMilli(), 10), "people": string(people)}
		viewJSON, _ := json.Marshal(filing{fields}.providerView())
		args.View = string(viewJSON)
		out, err := submitScript.Run(ctx, s.rdb, keys.Keys(), args).StringSlice()
		if retry, err := s.gw.Retry(ctx, err); retry {
			continue
		} else if err != nil {
			return ProviderView{}, fmt.Errorf("submit: %w", err)
		}
		var done submitted
		if err := json.Unmarshal([]byte(out[0]), &done); err != nil {
			return ProviderView{}, fmt.Errorf("submit: answer %q: %w", out[0], err)
		}
		for i, n := range args.Notices {
			if i < len(done.Notices) {
				s.gw.Sent(n.Texts, done.Notices[i])
			}
		}
		for i, phone := range args.Phones {
			if i < len(done.Who) {
				s.seen(phone, done.Who[i]) // their validations need not read the index first
			}
		}
		if args.Sync != nil {
			s.codesSent(*args.Sync, done.Codes)
		}
		if len(done.Sweep) > 0 {
			if err := s.sweep(ctx, done.Sweep); err != nil {
				s.log.Warn("the list of orders keeps ids of orders gone until its next sweep", "err", err) // the order itself was made
			}
		}
		if err := s.carryOn(ctx, out[1:]); err != nil {
			return ProviderView{}, err
		}
		if jobs, _ := leftToTidy(out[1:]); core.JobsIn(jobs) > 0 { // jobs due at once moved the order on
			return s.ProviderView(ctx, id)
		}
		fields["prov_status"], fields["prov_validated"] = done.ProvStatus, done.ProvValidated
		return filing{fields}.providerView(), nil
	}
	return ProviderView{}, fmt.Errorf("submit: %w", gateway.ErrKeptChanging)
}

// newFilingID names a new order: at random, or, with a seeded source, from
// the namespace's count of orders, so that a seeded run names its orders
// alike every time. It answers the count too (0 when the script counts it).
func (s *Service) newFilingID(ctx context.Context) (string, int64, error) {
	if !s.rand.Seeded() {
		return s.rand.ID("f", "filing"), 0, nil
	}
	n, err := s.rdb.HIncrBy(ctx, s.ks.Seq(), "filing", 1).Result()
	if err != nil {
		return "", 0, fmt.Errorf("submit: %w", err)
	}
	return s.rand.ID("f", "filing", strconv.FormatInt(n, 10)), n, nil
}

func describe(typ, variant string) string {
	if variant == "" {
		return typ
	}
	return typ + "/" + variant
}

// filing is an order as stored.
type filing struct {
	v map[string]string
}

func (s *Service) load(ctx context.Context, id string) (filing, error) {
	if !idPattern.MatchString(id) {
		return filing{}, core.NotFound("no filing order %q", id)
	}
	v, err := s.rdb.HGetAll(ctx, s.ks.Filing(id)).Result()
	if err != nil {
		return filing{}, fmt.Errorf("read filing %s: %w", id, err)
	}
	if v["id"] == "" {
		return filing{}, core.NotFound("no filing order %q", id)
	}
	return filing{v}, nil
}

func (f filing) time(field string) *time.Time {
	n, err := strconv.ParseInt(f.v[field], 10, 64)
	if err != nil || f.v[field] == "" {
		return nil
	}
	t := time.UnixMilli(n).UTC()
	return &t
}

func (f filing) int(field string) int {
	n, _ := strconv.Atoi(f.v[field])
	return n
}

func (f filing) people() map[string]*Person {
	out := map[string]*Person{}
	_ = json.Unmarshal([]byte(f.v["people"]), &out)
	return out
}

func (f filing) required() []string {
	if f.v["required"] == "" {
		return []string{}
	}
	return strings.Split(f.v["required"], ",")
}

// subjectOf answers the index (from 1) of the subject that holds role.
func (f filing) subjectOf(role string) int {
	for i := 1; i <= f.int("nsubj"); i++ {
		for _, r := range strings.Split(f.v[fmt.Sprintf("s%d.roles", i)], ",") {
			if r == role {
				return i
			}
		}
	}
	return 0
}

// ProviderView is an order as the provider's filing system shows it: MIIT's
// outcomes reach it after the result sync lag.
type ProviderView struct {
	ID          string           `json:"id"`
	Type        string           `json:"type"`
	Variant     string           `json:"variant,omitempty"`
	Status      string           `json:"status"`
	CanceledBy  string           `json:"canceled_by,omitempty"` // with status canceled: customer or expiry
	Required    []string         `json:"required"`
	SubmittedAt time.Time        `json:"submitted_at"`
	Personnel   []ProviderPerson `json:"personnel"`
}

// ProviderPerson is a required person in the provider's view.
type ProviderPerson struct {
	Role      string `json:"role"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Validated bool   `json:"validated"`
}

// ProviderView reads an order as the provider sees it.
func (s *Service) ProviderView(ctx context.Context, id string) (ProviderView, error) {
	f, err := s.load(ctx, id)
	if err != nil {
		return ProviderView{}, err
	}
	return f.providerView(), nil
}

func (f filing) providerView() ProviderView {
	validated := map[string]bool{}
	for _, r := range strings.Split(f.v["prov_validated"], ",") {
		validated[r] = true
	}
	people := f.people()
	v := ProviderView{
		ID: f.v["id"], Type: f.v["type"], Variant: f.v["variant"], Status: f.v["prov_status"],
		Required: f.required(), SubmittedAt: *f.time("submitted_at"), Personnel: []ProviderPerson{},
	}
	if v.Status == StatusCanceled {
		v.CanceledBy = f.v["canceled_by"] // the provider learns it with the status
	}
	for _, role := range v.Required {
		p := people[role]
		v.Personnel = append(v.Personnel, ProviderPerson{Role: role, Name: p.Name, Phone: p.Phone, Validated: validated[role]})
	}
	return v
}

// MIITView is an order as MIIT's validation database holds it, without lag.
// It never shows the codes.
type MIITView struct {
	ID          string       `json:"id"`
	Type        string       `json:"type"`
	Variant     string       `json:"variant,omitempty"`
	Status      string       `json:"status"`
	CanceledBy  string       `json:"canceled_by,omitempty"`
	CodesSentAt *time.Time   `json:"codes_sent_at,omitempty"`
	Deadline    *time.Time   `json:"deadline,omitempty"`
	Personnel   []MIITPerson `json:"personnel"`
}

// MIITPerson is a required person in MIIT's view. People who share a mobile
// number share their counts.
type MIITPerson struct {
	Role      string `json:"role"`
	Phone     string `json:"phone"`
	Validated bool   `json:"validated"`
	Failures  int    `json:"failures"`
	Resends   int    `json:"resends"`
}

// MIITView reads an order as MIIT sees it.
func (s *Service) MIITView(ctx context.Context, id string) (MIITView, error) {
	f, err := s.load(ctx, id)
	if err != nil {
		return MIITView{}, err
	}
	return f.miitView(), nil
}

func (f filing) miitView() MIITView {
	v := MIITView{ID: f.v["id"], Type: f.v["type"], Variant: f.v["variant"], Status: f.v["status"],
		CanceledBy: f.v["canceled_by"], Personnel: []MIITPerson{}}
	if v.Status == StatusUnknown || f.v["codes_sent_at"] == "" {
		return v
	}
	v.CodesSentAt, v.Deadline = f.time("codes_sent_at"), f.time("deadline")
	people := f.people()
	for _, role := range f.required() {
		i := f.subjectOf(role)
		k := fmt.Sprintf("s%d.", i)
		v.Personnel = append(v.Personnel, MIITPerson{
			Role: role, Phone: people[role].Phone, Validated: f.v[k+"validated"] == "1",
			Failures: f.int(k + "failures"), Resends: f.int(k + "resends"),
		})
	}
	return v
}

var (
	//go:embed cancel.lua
	cancelLua    string
	cancelScript = core.NewScript[cancelArgs](luaLib, cancelLua)
)

type cancelArgs struct {
	Expect core.Expect `json:"expect"`
	Bounds core.Bounds `json:"bounds"`
	Now    int64       `json:"now"` // ms
}

// Cancel cancels an order for the customer: allowed while MIIT holds it as
// not yet synced or pending validation. MIIT learns of it at once.
func (s *Service) Cancel(ctx context.Context, id string) (ProviderView, error) {
	if _, err := s.load(ctx, id); err != nil {
		return ProviderView{}, err
	}
	var out []string
	err := s.withSnapshot(ctx, func(snap core.Snapshot) (err error) {
		out, err = cancelScript.Run(ctx, s.rdb, s.libKeys(s.ks.Filing(id)),
			cancelArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Now: snap.Now().Now.UnixMilli()}).StringSlice()
		return err
	})
	if err != nil {
		return ProviderView{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	st := out[0]
	switch st {
	case "ok":
		if err := s.carryOn(ctx, out[1:]); err != nil {
			return ProviderView{}, err
		}
		return s.ProviderView(ctx, id)
	case "expired":
		return ProviderView{}, core.Conflict("filing %s cannot be canceled: its validation window has ended and MIIT has canceled it", id)
	}
	return ProviderView{}, core.Conflict("filing %s cannot be canceled: it is %s at MIIT; only an order not yet synced or pending validation can be", id, st)
}
