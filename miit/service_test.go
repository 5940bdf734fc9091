package miit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator/core"
	"smsim/simulator/core/testkit"
)

// t0 is the simulated time every world starts at, its clock paused: 08:00
// China Standard Time.
var t0 = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// world is the ground, the gateway and the MIIT service of one namespace,
// on the test's Redis (miniredis, or the real server of
// SMSIM_TEST_REDIS_URL under a key prefix of the test's own).
type world struct {
	t      testing.TB
	ctx    context.Context
	rdb    redis.UniversalClient
	ks     core.Keyspace
	clock  *core.Clock
	sched  *core.Scheduler
	faults *core.FaultStore
	events *core.EventLog
	gw     *gateway.Gateway
	svc    *miit.Service
	reg    *prometheus.Registry
	fail   atomic.Int32 // what of the store fails: one of failNothing, failScripts, failAll
}

// newWorld builds a world with the default fault profile and a seeded
// source of draws; opts change the service's config before it is built.
func newWorld(t testing.TB, opts ...func(*miit.Config)) *world {
	t.Helper()
	w, err := buildWorld(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func buildWorld(t testing.TB, opts ...func(*miit.Config)) (*world, error) {
	t.Helper()
	return buildWorldWith(t, core.SchedulerOptions{}, opts...)
}

// buildWorldWith is buildWorld with a scheduler of those options.
func buildWorldWith(t testing.TB, so core.SchedulerOptions, opts ...func(*miit.Config)) (*world, error) {
	t.Helper()
	return buildWorldLimited(t, so, core.Limits{}, opts...)
}

// buildWorldLimited is buildWorldWith whose scripts bound the keys they
// write by limits.
func buildWorldLimited(t testing.TB, so core.SchedulerOptions, limits core.Limits, opts ...func(*miit.Config)) (*world, error) {
	t.Helper()
	srv := testkit.StartRedis(t)
	w := &world{t: t, ctx: context.Background(), rdb: srv.Client(t), reg: prometheus.NewPedanticRegistry(),
		ks: core.Keyspace{Prefix: srv.Prefix, Namespace: core.DefaultNamespace}}
	w.rdb.AddHook(failHook{w})
	log := slog.New(slog.DiscardHandler)
	rnd := core.NewSeededSource(1)
	w.clock = core.NewClock(w.rdb, w.ks, core.ClockStart{At: t0, Paused: true}, nil)
	if err := w.clock.Init(w.ctx); err != nil {
		t.Fatal(err)
	}
	w.sched = core.NewScheduler(w.rdb, w.ks, w.clock, log, w.reg, so)
	w.faults = core.NewFaultStore(w.rdb, w.ks)
	w.events = core.NewEventLog(w.rdb, w.ks)
	state := core.NewState(w.clock, w.faults, limits)
	w.gw = gateway.New(gateway.Config{Redis: w.rdb, Keyspace: w.ks, Scheduler: w.sched, Faults: w.faults,
		State: state, Events: w.events, Rand: rnd, Log: log, Metrics: w.reg})
	cfg := miit.Config{Redis: w.rdb, Keyspace: w.ks, Clock: w.clock, Scheduler: w.sched, Faults: w.faults,
		State: state, Rand: rnd, Gateway: w.gw, Events: w.events, Log: log, Metrics: w.reg}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := miit.New(cfg)
	w.svc = svc
	return w, err
}

// set changes the fault profile.
func (w *world) set(change func(f *core.Faults)) {
	w.t.Helper()
	f, err := w.faults.Get(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	change(&f)
	if _, err := w.faults.Set(w.ctx, f); err != nil {
		w.t.Fatal(err)
	}
}

// lags fixes the sync lag and the result sync lag.
func (w *world) lags(sync, result time.Duration) {
	w.t.Helper()
	w.set(func(f *core.Faults) { f.SyncLag, f.ResultSyncLag = core.Fixed(sync), core.Fixed(result) })
}

// advance moves the clock by d and carries out what falls due.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	if _, err := w.sched.Advance(w.ctx, d); err != nil {
		w.t.Fatalf("advance %s: %v", d, err)
	}
}

// jump moves the clock by d and carries out nothing, as a running clock
// whose background loop has not looked yet.
func (w *world) jump(d time.Duration) {
	w.t.Helper()
	if _, err := w.clock.Jump(w.ctx, d); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) now() time.Time {
	w.t.Helper()
	now, err := w.clock.Now(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return now
}

func (w *world) submit(req miit.SubmitRequest) miit.ProviderView {
	w.t.Helper()
	v, err := w.svc.Submit(w.ctx, req)
	if err != nil {
		w.t.Fatalf("submit %+v: %v", req, err)
	}
	return v
}

func (w *world) providerView(id string) miit.ProviderView {
	w.t.Helper()
	v, err := w.svc.ProviderView(w.ctx, id)
	if err != nil {
		w.t.Fatalf("provider view of %s: %v", id, err)
	}
	return v
}

func (w *world) miitView(id string) miit.MIITView {
	w.t.Helper()
	v, err := w.svc.MIITView(w.ctx, id)
	if err != nil {
		w.t.Fatalf("MIIT view of %s: %v", id, err)
	}
	return v
}

func (w *world) validate(code, phone, cert string) miit.ValidationResult {
	w.t.Helper()
	r, err := w.svc.Validate(w.ctx, miit.ValidateRequest{Code: code, Phone: phone, CertificateLast6: cert})
	if err != nil {
		w.t.Fatalf("validate %s for %s/%s: %v", code, phone, cert, err)
	}
	return r
}

func (w *world) resend(phone, cert string) miit.ResendResult {
	w.t.Helper()
	r, err := w.svc.Resend(w.ctx, miit.ResendRequest{Phone: phone, CertificateLast6: cert})
	if err != nil {
		w.t.Fatalf("resend for %s/%s: %v", phone, cert, err)
	}
	return r
}

func (w *world) cancel(id string) miit.ProviderView {
	w.t.Helper()
	v, err := w.svc.Cancel(w.ctx, id)
	if err != nil {
		w.t.Fatalf("cancel %s: %v", id, err)
	}
	return v
}

// folder reads a phone's folder through the gateway.
func (w *world) folder(phone, folder string) []gateway.Message {
	w.t.Helper()
	m, err := w.gw.Folder(w.ctx, phone, folder)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) inbox(phone string) []gateway.Message { return w.folder(phone, gateway.FolderInbox) }

// codes answers the codes in a phone's inbox, oldest first.
func (w *world) codes(phone string) []string {
	w.t.Helper()
	var out []string
	for _, m := range w.inbox(phone) {
		if m.Code != "" {
			out = append(out, m.Code)
		}
	}
	return out
}

// code answers the newest code in a phone's inbox; the test fails when
// there is none.
func (w *world) code(phone string) string {
	w.t.Helper()
	c := w.codes(phone)
	if len(c) == 0 {
		w.t.Fatalf("no code in the inbox of %s: %+v", phone, w.inbox(phone))
	}
	return c[len(c)-1]
}

// single submits an order only the entity leader of phone validates, with
// a sync lag of 30m and a result sync lag of 1m, and syncs it.
func (w *world) single(phone string) miit.ProviderView {
	w.t.Helper()
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(appFiling(phone))
	w.advance(30 * time.Minute)
	return v
}

func leader(phone string) *miit.Person {
	return &miit.Person{Name: "Li Lei", Phone: phone, CertificateNumber: "110101199003071234"}
}

func admin(phone string) *miit.Person {
	return &miit.Person{Name: "Han Meimei", Phone: phone, CertificateNumber: "11010119920101567X"}
}

// The last six characters of leader's and admin's certificates.
const (
	leaderCert = "071234"
	adminCert  = "01567X"
)

// websiteFiling is an order both people must validate.
func websiteFiling(leaderPhone, adminPhone string) miit.SubmitRequest {
	return miit.SubmitRequest{Type: miit.TypeFirstFiling, Variant: "website",
		EntityLeader: leader(leaderPhone), WebsiteAdmin: admin(adminPhone)}
}

// appFiling is an order only the entity leader must validate.
func appFiling(phone string) miit.SubmitRequest {
	return miit.SubmitRequest{Type: miit.TypeFirstFiling, Variant: "app", EntityLeader: leader(phone)}
}

// wrong answers a well-formed code that is not code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// wantValidation checks a validation answer: result word, exact message,
// rejected flag.
func wantValidation(t testing.TB, got miit.ValidationResult, result string, rejected bool) {
	t.Helper()
	msg := map[string]string{
		"complete":  "Dear ICP user: Your text message validation is complete. This request will be submitted to the communications administration for review.",
		"partial":   "Dear ICP user: Your text message validation is complete. Please wait for other personnel to complete their text message validation.",
		"failed":    "Dear ICP user: Your text message validation failed. Please try again.",
		"not_found": "Dear ICP user: The record cannot be found in the validation database or the validation is already complete.",
	}[result]
	if got.Result != result || got.Message != msg || got.Rejected != rejected {
		t.Fatalf("validation = %+v, want %s %q rejected=%v", got, result, msg, rejected)
	}
}

// wantResend checks a resend answer: result word and exact message.
func wantResend(t testing.TB, got miit.ResendResult, result string) {
	t.Helper()
	msg := map[string]string{
		"resent":        "Dear ICP user: Your text message verification code has been resent successfully. Please check your mobile phone and complete the text message validation as soon as possible.",
		"no_pending":    "Dear ICP user: You have no pending ICP filing applications that require text message validation. You do not need to resend the text message.",
		"not_found":     "Dear ICP user: The record cannot be found in the validation database.",
		"limit_reached": "Dear ICP user: The maximum number of resend attempts has been reached.",
	}[result]
	if got.Result != result || got.Message != msg {
		t.Fatalf("resend = %+v, want %s %q", got, result, msg)
	}
}

// wantError checks that err is a *core.Error with the HTTP status code and
// exactly the detail.
func wantError(t testing.TB, err error, code int, detail string) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a %d %q", err, err, code, detail)
	}
	if e.Code != code || e.Detail != detail {
		t.Fatalf("error %d %q\nwant  %d %q", e.Code, e.Detail, code, detail)
	}
}

// counter reads the value of a counter or gauge of the world's registry
// with the given labels; 0 when there is none.
func (w *world) counter(name string, labels map[string]string) float64 {
	w.t.Helper()
	return testkit.Metric(w.t, w.reg, name, labels)
}

func TestNewChecksTheSenders(t *testing.T) {
	for _, c := range []struct {
		name, miit, provider string
		detail               string
	}{
		{"short MIIT sender", "1238", "", `miit sender: must be 12381, 106 followed by ten digits and 12381, or a carrier's sender (106598051001, 10655113, 106575000130), got "1238"`},
		{"long MIIT sender of nine digits", "106123456789" + "12381", "", `miit sender: must be 12381, 106 followed by ten digits and 12381, or a carrier's sender (106598051001, 10655113, 106575000130), got "10612345678912381"`},
		{"provider sender not digits", "", "ICP", `provider sender: must be a sender number of 1 to 21 digits, got "ICP"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := buildWorld(t, func(cfg *miit.Config) { cfg.MIITSender, cfg.ProviderSender = c.miit, c.provider })
			wantError(t, err, 400, c.detail)
		})
	}
}

// A MIIT sender of the long form and a provider sender of the test's own
// are the senders of the messages, and the notice names MIIT's.
func TestSendersOfTheMessages(t *testing.T) {
	const long = "106" + "5551234567" + "12381"
	w := newWorld(t, func(cfg *miit.Config) { cfg.MIITSender, cfg.ProviderSender = long, "95555" })
	v := w.single("13800000101")
	msgs := w.inbox("13800000101")
	if len(msgs) != 2 {
		t.Fatalf("inbox %+v, want the notice and the code", msgs)
	}
	notice, code := msgs[0], msgs[1]
	if notice.Sender != "95555" || notice.Body != "[ICP Filing] Your ICP filing order "+v.ID+" has been submitted successfully. MIIT will send you a verification code from "+long+"; complete the text message validation within 24 hours of receiving it." {
		t.Fatalf("notice %+v", notice)
	}
	if code.Sender != long || code.Code == "" {
		t.Fatalf("code message %+v, want one from %s", code, long)
	}
}

// fixedReview is a review that takes exactly d and approves with
// probability ratio.
func fixedReview(d time.Duration, ratio float64) core.Review {
	return core.Review{Time: core.Fixed(d), ApproveRatio: ratio}
}

// afterLookup calls then, on the caller's goroutine, each time a request
// has read the orders of phone (the index a validation or a resend reads
// before its script runs): then can change them under the request.
func (w *world) afterLookup(phone string, then func()) {
	w.rdb.AddHook(lookupHook{suffix: ":" + phone, then: then})
}

type lookupHook struct {
	suffix string
	then   func()
}

func (lookupHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (lookupHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h lookupHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if a := c.Args(); len(a) == 2 && a[0] == "smembers" && strings.HasSuffix(fmt.Sprint(a[1]), h.suffix) {
				h.then()
				break
			}
		}
		return err
	}
}

// withSeed draws the service's ids, codes and lags from seed.
func withSeed(seed int64) func(*miit.Config) {
	return func(c *miit.Config) { c.Rand = core.NewSeededSource(seed) }
}

// What of the store fails (world.fail).
const (
	failNothing = iota
	failScripts // the scripts of the miit package: those passed the count of orders by status third
	failAll
)

var errStoreGone = errors.New("store gone")

// failHook fails the commands that world.fail says fail, as a store that
// is gone would.
type failHook struct{ w *world }

func (h failHook) fails(cmd redis.Cmder) bool {
	switch h.w.fail.Load() {
	case failAll:
		return true
	case failScripts:
		a := cmd.Args()
		return len(a) > 5 && (a[0] == "evalsha" || a[0] == "eval" || a[0] == "fcall") && a[5] == h.w.ks.FilingsByStatus()
	}
	return false
}

func (failHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h failHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.fails(cmd) {
			cmd.SetErr(errStoreGone)
			return errStoreGone
		}
		return next(ctx, cmd)
	}
}

func (h failHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if h.fails(c) {
				for _, c := range cmds {
					c.SetErr(errStoreGone)
				}
				return errStoreGone
			}
		}
		return next(ctx, cmds)
	}
}

// With the store gone every call answers an error that says what failed
// and wraps the store's own; none passes for the caller's mistake.
func TestStoreErrorsAreReturned(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13800000111")})
	w.advance(30 * time.Minute)
	calls := []struct {
		name string
		call func() error
	}{
		{"submit", func() error { _, err := w.svc.Submit(w.ctx, appFiling("13800000112")); return err }},
		{"provider view", func() error { _, err := w.svc.ProviderView(w.ctx, v.ID); return err }},
		{"MIIT view", func() error { _, err := w.svc.MIITView(w.ctx, v.ID); return err }},
		{"provider list", func() error { _, err := w.svc.ProviderViews(w.ctx, "", 10, 0); return err }},
		{"MIIT list", func() error { _, err := w.svc.MIITViews(w.ctx, "", 10, 0); return err }},
		{"cancel", func() error { _, err := w.svc.Cancel(w.ctx, v.ID); return err }},
		{"number change", func() error { _, err := w.svc.ChangeNumbers(w.ctx, v.ID, adminTo("13800000113")); return err }},
		{"validate", func() error {
			_, err := w.svc.Validate(w.ctx, miit.ValidateRequest{Code: "123456", Phone: "13800000111", CertificateLast6: adminCert})
			return err
		}},
		{"resend", func() error {
			_, err := w.svc.Resend(w.ctx, miit.ResendRequest{Phone: "13800000111", CertificateLast6: adminCert})
			return err
		}},
	}
	for _, mode := range []struct {
		name string
		fail int32
		// prefix of each call's error, by call; none: any
		prefix map[string]string
	}{
		{"everything fails", failAll, nil},
		{"MIIT's scripts fail", failScripts, map[string]string{
			"submit": "submit: ", "cancel": "cancel " + v.ID + ": ", "number change": "change number: ",
			"validate": "validate: ", "resend": "resend: ",
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			for _, c := range calls {
				if mode.fail == failScripts && mode.prefix[c.name] == "" {
					continue // no script of its own
				}
				w.fail.Store(mode.fail)
				err := c.call()
				w.fail.Store(failNothing)
				var bad *core.Error
				if !errors.Is(err, errStoreGone) || errors.As(err, &bad) || !strings.HasPrefix(err.Error(), mode.prefix[c.name]) {
					t.Errorf("%s: error %v, want one starting %q wrapping %q", c.name, err, mode.prefix[c.name], errStoreGone)
				}
			}
		})
	}
	// Nothing was half done.
	if mv := w.miitView(v.ID); mv.Status != "pending_validation" || mv.Personnel[0].Phone != "13800000111" || mv.Personnel[0].Resends != 0 {
		t.Fatalf("MIIT view %+v after the failures, want the order as it was", mv)
	}
}

// A job whose script fails is an error of the advance that carries it
// out, naming the job.
func TestStoreErrorsOfJobs(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(w *world) string // answers the order's id
		by    time.Duration
		want  string
	}{
		{"sync", func(w *world) string { return w.submit(appFiling("13800000121")).ID }, 30 * time.Minute, "sync %s: store gone"},
		{"expire", func(w *world) string { return w.single("13800000121").ID }, 24 * time.Hour, "expire %s: store gone"},
		{"review", func(w *world) string {
			w.set(func(f *core.Faults) { f.Review = fixedReview(5*time.Hour, 1) })
			v := w.single("13800000121")
			w.validate(w.code("13800000121"), "13800000121", leaderCert)
			w.advance(time.Minute) // the result reaches the provider first
			return v.ID
		}, 5*time.Hour - time.Minute, "review %s: store gone"},
		{"noon re-send", func(w *world) string {
			w.set(func(f *core.Faults) { f.AutoResendNoon = true })
			w.advance(5 * time.Hour)
			return w.single("13800000121").ID
		}, 23 * time.Hour, "auto resend %s: store gone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.lags(30*time.Minute, time.Minute)
			id := c.setup(w)
			w.fail.Store(failScripts)
			_, err := w.sched.Advance(w.ctx, c.by)
			if want := fmt.Sprintf(c.want, id); err == nil || !errors.Is(err, errStoreGone) || !strings.HasSuffix(err.Error(), want) {
				t.Fatalf("advance: %v, want an error ending %q", err, want)
			}
		})
	}
}
