package miit_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"smsim/miit"
	"smsim/simulator/core"
)

func TestValidationAnswers(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000001", "13700000002"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000001"), w.code("13700000002")
	if lc == ac {
		t.Fatalf("both people got the code %s", lc)
	}

	wantValidation(t, w.validate(lc, "13700000001", leaderCert), "partial", false)
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || !mv.Personnel[0].Validated || mv.Personnel[1].Validated {
		t.Fatalf("after the leader MIIT shows %+v", mv)
	}
	// Already validated: nothing pending matches, whatever the code.
	wantValidation(t, w.validate(lc, "13700000001", leaderCert), "not_found", false)
	wantValidation(t, w.validate(wrong(lc), "13700000001", leaderCert), "not_found", false)
	// The certificate's last six are compared case-insensitively, the
	// number with or without +86.
	wantValidation(t, w.validate(ac, "+8613700000002", "01567x"), "complete", false)
	mv = w.miitView(v.ID)
	if mv.Status != "under_review" || !mv.Personnel[1].Validated || mv.Personnel[0].Failures != 0 || mv.Personnel[1].Failures != 0 {
		t.Fatalf("after both MIIT shows %+v", mv)
	}
	wantValidation(t, w.validate(ac, "13700000002", adminCert), "not_found", false)
}

// The second subject of an order, its website admin, may validate first:
// the order waits for the leader, whose wrong code counts against the
// leader alone.
func TestSecondSubjectValidatesFirst(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000003", "13700000004"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000003"), w.code("13700000004")

	wantValidation(t, w.validate(lc, "13700000004", adminCert), "failed", false)
	wantValidation(t, w.validate(ac, "13700000004", adminCert), "partial", false)
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || mv.Personnel[0].Validated || !mv.Personnel[1].Validated ||
		mv.Personnel[0].Failures != 0 || mv.Personnel[1].Failures != 1 {
		t.Fatalf("after the admin MIIT shows %+v", mv)
	}
	wantValidation(t, w.validate(ac, "13700000004", adminCert), "not_found", false)
	wantValidation(t, w.validate(ac, "13700000003", leaderCert), "failed", false)
	wantValidation(t, w.validate(lc, "13700000003", leaderCert), "complete", false)
	mv = w.miitView(v.ID)
	if mv.Status != "under_review" || !mv.Personnel[0].Validated || mv.Personnel[0].Failures != 1 || mv.Personnel[1].Failures != 1 {
		t.Fatalf("after both MIIT shows %+v", mv)
	}
}

func TestValidationNotFound(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	w.submit(websiteFiling("13700000011", "13700000012"))
	wantValidation(t, w.validate("123456", "13700000011", leaderCert), "not_found", false) // not yet synced
	w.advance(30 * time.Minute)
	lc := w.code("13700000011")
	for _, c := range []struct{ name, code, phone, cert string }{
		{"unknown number", lc, "13700000019", leaderCert},
		{"certificate of no one", lc, "13700000011", "999999"},
		{"the other person's certificate", lc, "13700000011", adminCert},
		{"the other person's number", lc, "13700000012", leaderCert},
		{"a wrong code for an unknown number", wrong(lc), "13700000019", leaderCert},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantValidation(t, w.validate(c.code, c.phone, c.cert), "not_found", false)
		})
	}
	for _, p := range w.miitView(w.onlyOrder()).Personnel {
		if p.Failures != 0 || p.Validated {
			t.Fatalf("a not_found changed %+v", p)
		}
	}
}

// onlyOrder answers the id of the world's one order.
func (w *world) onlyOrder() string {
	w.t.Helper()
	p, err := w.svc.ProviderViews(w.ctx, "", 2, 0)
	if err != nil || p.Total != 1 {
		w.t.Fatalf("orders %+v, %v; want exactly one", p, err)
	}
	return p.Items[0].ID
}

func TestValidateRefusesMalformedInput(t *testing.T) {
	w := newWorld(t)
	v := w.single("13700000021")
	code := w.code("13700000021")
	for _, c := range []struct {
		name, code, phone, cert, detail string
	}{
		{"code missing", "", "13700000021", leaderCert, "code: missing; give the six-digit code from the text message"},
		{"code of five digits", "12345", "13700000021", leaderCert, `code: must be exactly six digits, got "12345"`},
		{"code of seven digits", "1234567", "13700000021", leaderCert, `code: must be exactly six digits, got "1234567"`},
		{"code with a letter", "12345a", "13700000021", leaderCert, `code: must be exactly six digits, got "12345a"`},
		{"code of full-width digits", "１２３４５６", "13700000021", leaderCert, `code: must be exactly six digits, got "１２３４５６"`},
		{"code with a space", " " + code[:5], "13700000021", leaderCert, `code: must be exactly six digits, got " ` + code[:5] + `"`},
		{"code checked first", "1", "1", "1", `code: must be exactly six digits, got "1"`},
		{"phone missing", code, "", leaderCert, `phone: missing; give a mainland mobile number such as "13800000001"`},
		{"phone malformed", code, "1370000002", leaderCert, `phone: "1370000002" is not a mainland mobile number (11 digits matching 1[3-9]xxxxxxxxx, optionally after +86)`},
		{"certificate missing", code, "13700000021", "", "certificate_last6: missing; give the last six characters of the certificate number"},
		{"certificate of five", code, "13700000021", "71234", `certificate_last6: must be six letters or digits (the last six characters of the certificate number), got "71234"`},
		{"certificate of seven", code, "13700000021", "9071234", `certificate_last6: must be six letters or digits (the last six characters of the certificate number), got "9071234"`},
		{"certificate with a dash", code, "13700000021", "07123-", `certificate_last6: must be six letters or digits (the last six characters of the certificate number), got "07123-"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := w.svc.Validate(w.ctx, miit.ValidateRequest{Code: c.code, Phone: c.phone, CertificateLast6: c.cert})
			if r != (miit.ValidationResult{}) {
				t.Errorf("malformed input answered %+v", r)
			}
			wantError(t, err, 400, c.detail)
		})
	}
	if p := w.miitView(v.ID).Personnel[0]; p.Failures != 0 || p.Validated {
		t.Fatalf("malformed input counted as an attempt: %+v", p)
	}
	wantValidation(t, w.validate(code, "13700000021", leaderCert), "complete", false)
}

func TestFourWrongCodesThenRight(t *testing.T) {
	w := newWorld(t)
	v := w.single("13700000031")
	code := w.code("13700000031")
	for i := 1; i <= 4; i++ {
		wantValidation(t, w.validate(wrong(code), "13700000031", leaderCert), "failed", false)
		if got := w.miitView(v.ID).Personnel[0].Failures; got != i {
			t.Fatalf("failures %d after %d wrong codes", got, i)
		}
	}
	wantValidation(t, w.validate(code, "13700000031", leaderCert), "complete", false)
	if p := w.miitView(v.ID).Personnel[0]; !p.Validated || p.Failures != 4 {
		t.Fatalf("after the right code %+v, want validated with the failures kept at 4", p)
	}
}

func TestFiveConsecutiveFailuresReject(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000041", "13700000042"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000041"), w.code("13700000042")
	for i := 1; i <= 4; i++ {
		wantValidation(t, w.validate(wrong(lc), "13700000041", leaderCert), "failed", false)
	}
	wantValidation(t, w.validate(wrong(lc), "13700000041", leaderCert), "failed", true)
	mv := w.miitView(v.ID)
	if mv.Status != "rejected" || mv.Personnel[0].Failures != 5 || mv.Personnel[1].Failures != 0 {
		t.Fatalf("MIIT view %+v, want rejected with the leader's 5 failures", mv)
	}
	// A rejected order takes nothing more, from anyone.
	wantValidation(t, w.validate(wrong(lc), "13700000041", leaderCert), "not_found", false)
	wantValidation(t, w.validate(lc, "13700000041", leaderCert), "not_found", false)
	wantValidation(t, w.validate(ac, "13700000042", adminCert), "not_found", false)
	wantResend(t, w.resend("13700000041", leaderCert), "not_found")
	wantResend(t, w.resend("13700000042", adminCert), "not_found")
	if p := w.miitView(v.ID).Personnel[0]; p.Failures != 5 {
		t.Fatalf("failures %d after the rejection, want 5", p.Failures)
	}
	if pv := w.providerView(v.ID); pv.Status != "pending_validation" {
		t.Fatalf("provider shows %s before the result sync, want pending_validation", pv.Status)
	}
	w.advance(time.Minute)
	if pv := w.providerView(v.ID); pv.Status != "rejected" {
		t.Fatalf("provider shows %s after the result sync, want rejected", pv.Status)
	}
	failed := `{"phone":"13700000041","rejected":false,"result":"failed"}`
	want := []string{failed, failed, failed, failed, `{"phone":"13700000041","rejected":true,"result":"failed"}`,
		`{"phone":"13700000041","rejected":false,"result":"not_found"}`, `{"phone":"13700000041","rejected":false,"result":"not_found"}`,
		`{"phone":"13700000042","rejected":false,"result":"not_found"}`}
	if got := w.validationEvents(); !slices.Equal(got, want) {
		t.Fatalf("the validation events' data:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// validationEvents answers the data of the validation events on the log,
// oldest first, as the scripts wrote them.
func (w *world) validationEvents() []string {
	w.t.Helper()
	records, err := w.events.After(w.ctx, "", 1000)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, r := range records {
		if r.Kind == core.KindValidation {
			out = append(out, string(r.Data))
		}
	}
	return out
}

func TestFailuresCountPerPerson(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000051", "13700000052"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000051"), w.code("13700000052")
	for range 4 {
		wantValidation(t, w.validate(wrong(lc), "13700000051", leaderCert), "failed", false)
		wantValidation(t, w.validate(wrong(ac), "13700000052", adminCert), "failed", false)
	}
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || mv.Personnel[0].Failures != 4 || mv.Personnel[1].Failures != 4 {
		t.Fatalf("eight failures split between two people rejected: %+v", mv)
	}
	wantValidation(t, w.validate(wrong(ac), "13700000052", adminCert), "failed", true)
}

// A success ends a person's count: their later attempts find nothing and
// count nothing, and the other person's failures are their own.
func TestSuccessEndsAPersonsCount(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000061", "13700000062"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000061"), w.code("13700000062")
	for range 4 {
		wantValidation(t, w.validate(wrong(lc), "13700000061", leaderCert), "failed", false)
	}
	wantValidation(t, w.validate(lc, "13700000061", leaderCert), "partial", false)
	for range 3 {
		wantValidation(t, w.validate(wrong(lc), "13700000061", leaderCert), "not_found", false)
	}
	for range 4 {
		wantValidation(t, w.validate(wrong(ac), "13700000062", adminCert), "failed", false)
	}
	mv := w.miitView(v.ID)
	if mv.Status != "pending_validation" || mv.Personnel[0].Failures != 4 || mv.Personnel[1].Failures != 4 {
		t.Fatalf("MIIT view %+v, want pending with 4 failures each", mv)
	}
	wantValidation(t, w.validate(ac, "13700000062", adminCert), "complete", false)
}

// A number in several pending orders: a code that matches one validates
// that one and counts no failure anywhere; a code that matches none counts
// a failure in each.
func TestSeveralOrdersMatchOnePhone(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	a := w.submit(appFiling("13700000071"))
	w.advance(30 * time.Minute)
	b := w.submit(miit.SubmitRequest{Type: "modify", Variant: "entity", EntityLeader: leader("13700000071")})
	w.advance(30 * time.Minute)
	codes := w.codes("13700000071")
	if len(codes) != 2 || codes[0] == codes[1] {
		t.Fatalf("codes %v, want one per order", codes)
	}
	ac, bc := codes[0], codes[1]

	wantValidation(t, w.validate(wrong(ac), "13700000071", leaderCert), "failed", false)
	if fa, fb := w.miitView(a.ID).Personnel[0].Failures, w.miitView(b.ID).Personnel[0].Failures; fa != 1 || fb != 1 {
		t.Fatalf("failures %d and %d, want one in each order", fa, fb)
	}
	wantValidation(t, w.validate(bc, "13700000071", leaderCert), "complete", false)
	am, bm := w.miitView(a.ID), w.miitView(b.ID)
	if am.Status != "pending_validation" || bm.Status != "under_review" || am.Personnel[0].Failures != 1 || bm.Personnel[0].Failures != 1 {
		t.Fatalf("after B's code: A %+v, B %+v; want B alone validated, no failure added", am, bm)
	}
	// B's spent code now matches nothing pending: a failure in A alone.
	wantValidation(t, w.validate(bc, "13700000071", leaderCert), "failed", false)
	if f := w.miitView(a.ID).Personnel[0].Failures; f != 2 {
		t.Fatalf("A's failures %d, want 2", f)
	}
	wantValidation(t, w.validate(ac, "13700000071", leaderCert), "complete", false)
}

func TestFiveFailuresRejectEveryOrderTheyCountIn(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	a := w.submit(appFiling("13700000081"))
	b := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "entity", EntityLeader: leader("13700000081")})
	w.advance(30 * time.Minute)
	for range 4 {
		wantValidation(t, w.validate("000000", "13700000081", leaderCert), "failed", false)
	}
	wantValidation(t, w.validate("000000", "13700000081", leaderCert), "failed", true)
	for _, id := range []string{a.ID, b.ID} {
		if mv := w.miitView(id); mv.Status != "rejected" || mv.Personnel[0].Failures != 5 {
			t.Errorf("order %s: %+v, want rejected with 5 failures", id, mv)
		}
	}
}

// A system issue at MIIT: right data, not_found anyway, nothing applied.
func TestSpuriousNotFound(t *testing.T) {
	w := newWorld(t)
	v := w.single("13700000091")
	code := w.code("13700000091")
	w.set(func(f *core.Faults) { f.SpuriousNotFoundRate = 1 })
	wantValidation(t, w.validate(code, "13700000091", leaderCert), "not_found", false)
	wantValidation(t, w.validate(wrong(code), "13700000091", leaderCert), "not_found", false)
	if p := w.miitView(v.ID).Personnel[0]; p.Validated || p.Failures != 0 {
		t.Fatalf("a spurious not_found applied something: %+v", p)
	}
	events := w.validationEvents()
	if last := events[len(events)-1]; last != `{"phone":"13700000091","rejected":false,"result":"not_found","spurious":true}` {
		t.Fatalf("the last validation event is %s, want a spurious not_found", last)
	}
	w.set(func(f *core.Faults) { f.SpuriousNotFoundRate = 0 })
	wantValidation(t, w.validate(code, "13700000091", leaderCert), "complete", false)
}

// The magic number 19900000006: its first validation is a glitch, the
// next is answered as usual; with the magic numbers off it is a number
// like any other.
func TestMagicSpuriousNotFound(t *testing.T) {
	t.Run("magic numbers on", func(t *testing.T) {
		w := newWorld(t)
		v := w.single("19900000006")
		code := w.code("19900000006")
		wantValidation(t, w.validate(code, "19900000006", leaderCert), "not_found", false)
		if p := w.miitView(v.ID).Personnel[0]; p.Validated || p.Failures != 0 {
			t.Fatalf("the glitch applied something: %+v", p)
		}
		wantValidation(t, w.validate(wrong(code), "19900000006", leaderCert), "failed", false)
		wantValidation(t, w.validate(code, "19900000006", leaderCert), "complete", false)
	})
	t.Run("magic numbers off", func(t *testing.T) {
		w := newWorld(t)
		w.set(func(f *core.Faults) { f.MagicNumbers = false })
		w.single("19900000006")
		wantValidation(t, w.validate(w.code("19900000006"), "19900000006", leaderCert), "complete", false)
	})
}

func TestValidationsAreCountedByResult(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	w.submit(websiteFiling("13700000101", "13700000102"))
	w.advance(30 * time.Minute)
	lc := w.code("13700000101")
	w.validate(wrong(lc), "13700000101", leaderCert)
	w.validate(wrong(lc), "13700000101", leaderCert)
	w.validate(lc, "13700000101", leaderCert)
	w.validate(lc, "13700000101", leaderCert)
	w.validate(w.code("13700000102"), "13700000102", adminCert)
	for result, want := range map[string]float64{"failed": 2, "partial": 1, "not_found": 1, "complete": 1} {
		if got := w.counter("smsim_validations_total", map[string]string{"result": result}); got != want {
			t.Errorf("smsim_validations_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// Fifty wrong codes for one person at once: exactly five count, the fifth
// rejects, the rest find nothing.
func TestConcurrentWrongCodesCountExactlyFive(t *testing.T) {
	w := newWorld(t)
	v := w.single("13700000111")
	code := w.code("13700000111")
	const n = 50
	results := make([]miit.ValidationResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = w.svc.Validate(w.ctx, miit.ValidateRequest{Code: wrong(code), Phone: "13700000111", CertificateLast6: leaderCert})
		})
	}
	wg.Wait()
	wantFiveFailed(t, results, errs)
	if mv := w.miitView(v.ID); mv.Status != "rejected" || mv.Personnel[0].Failures != 5 {
		t.Fatalf("MIIT view %+v, want rejected with exactly 5 failures", mv)
	}
}

// wantFiveFailed checks answers to wrong codes for one person: exactly
// five failed, the fifth (and only it) rejecting, the rest not_found.
func wantFiveFailed(t *testing.T, results []miit.ValidationResult, errs []error) {
	t.Helper()
	count := map[string]int{}
	rejected := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("validation %d: %v", i, errs[i])
		}
		switch r.Result {
		case "failed":
			wantValidation(t, r, "failed", r.Rejected)
		default:
			wantValidation(t, r, "not_found", false)
		}
		count[r.Result]++
		if r.Rejected {
			rejected++
		}
	}
	if count["failed"] != 5 || count["not_found"] != len(results)-5 || rejected != 1 {
		t.Fatalf("answers %v with %d rejecting; want 5 failed (1 rejecting) and %d not_found", count, rejected, len(results)-5)
	}
}

// Orders for the same number submitted while its wrong codes are checked
// change the number's index under the validations: the count still holds.
func TestConcurrentWrongCodesWhileOrdersArrive(t *testing.T) {
	w := newWorld(t)
	v := w.single("13700000121")
	code := w.code("13700000121")
	const n = 30
	results := make([]miit.ValidationResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = w.svc.Validate(w.ctx, miit.ValidateRequest{Code: wrong(code), Phone: "13700000121", CertificateLast6: leaderCert})
		})
		wg.Go(func() {
			if _, err := w.svc.Submit(w.ctx, appFiling("13700000121")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	wantFiveFailed(t, results, errs)
	if mv := w.miitView(v.ID); mv.Status != "rejected" || mv.Personnel[0].Failures != 5 {
		t.Fatalf("MIIT view %+v, want rejected with exactly 5 failures", mv)
	}
	if p, _ := w.svc.MIITViews(w.ctx, "unknown", 100, 0); p.Total != n {
		t.Fatalf("%d orders not yet synced, want the %d submitted meanwhile", p.Total, n)
	}
}

// The right code entered many times at once validates once.
func TestConcurrentRightCodesValidateOnce(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(websiteFiling("13700000131", "13700000132"))
	w.advance(30 * time.Minute)
	lc, ac := w.code("13700000131"), w.code("13700000132")
	const n = 20
	results := make([]miit.ValidationResult, 2*n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		req := miit.ValidateRequest{Code: lc, Phone: "13700000131", CertificateLast6: leaderCert}
		if i%2 == 1 {
			req = miit.ValidateRequest{Code: ac, Phone: "13700000132", CertificateLast6: adminCert}
		}
		wg.Go(func() { results[i], errs[i] = w.svc.Validate(w.ctx, req) })
	}
	wg.Wait()
	count := map[string]int{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("validation %d: %v", i, errs[i])
		}
		wantValidation(t, r, r.Result, false)
		count[r.Result]++
	}
	if count["partial"] != 1 || count["complete"] != 1 || count["not_found"] != 2*n-2 {
		t.Fatalf("answers %v; want one partial, one complete, the rest not_found", count)
	}
	mv := w.miitView(v.ID)
	if mv.Status != "under_review" || mv.Personnel[0].Failures != 0 || mv.Personnel[1].Failures != 0 {
		t.Fatalf("MIIT view %+v, want under review with no failure", mv)
	}
}

// An order that comes to the number between the read of its orders and
// the validation is found on a second reading.
func TestValidationReadsTheOrdersAgainWhenTheyChange(t *testing.T) {
	w := newWorld(t)
	w.lags(30*time.Minute, time.Minute)
	v := w.submit(miit.SubmitRequest{Type: "cancel", Variant: "website", WebsiteAdmin: admin("13700000141")})
	w.advance(30 * time.Minute)
	code := w.code("13700000141")
	once := false
	w.afterLookup("13700000142", func() {
		if once {
			return
		}
		once = true
		if _, err := w.svc.ChangeNumbers(w.ctx, v.ID, map[string]miit.NumberChange{"website_admin": {Phone: "13700000142"}}); err != nil {
			t.Fatal(err)
		}
	})
	wantValidation(t, w.validate(code, "13700000142", adminCert), "complete", false)
}

func TestValidationGivesUpWhenTheOrdersKeepChanging(t *testing.T) {
	w := newWorld(t)
	w.afterLookup("13700000143", func() {
		if _, err := w.svc.Submit(w.ctx, appFiling("13700000143")); err != nil {
			t.Fatal(err)
		}
	})
	_, err := w.svc.Validate(w.ctx, miit.ValidateRequest{Code: "123456", Phone: "13700000143", CertificateLast6: leaderCert})
	if err == nil || err.Error() != "validate: the orders of this number kept changing" {
		t.Fatalf("validation while the orders keep changing: %v", err)
	}
}
