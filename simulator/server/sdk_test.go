package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"smsim/gateway"
	"smsim/miit"
	"smsim/simulator"
	"smsim/simulator/client"
	"smsim/simulator/core"
	"smsim/simulator/server"
	"smsim/simulator/webhook"
)

// The SDK (simulator/client) owns copies of the server's types and
// constants, so that it imports no smsim package. The tests of this file
// keep the copies from drifting: each says what the server has and checks
// that the SDK has the same.

// sameWire checks that the SDK's type T reads every field of the server's
// value v and writes it back byte for byte: the wire forms agree.
func sameWire[T any](t *testing.T, name string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var sdk T
	if err := json.Unmarshal(want, &sdk); err != nil {
		t.Errorf("%s: the SDK cannot read %s: %v", name, want, err)
		return
	}
	got, err := json.Marshal(sdk)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the SDK writes\n%s\nthe server\n%s", name, got, want)
	}
}

// sameConstants checks that each pair of constants, the SDK's first, is
// the same.
func sameConstants(t *testing.T, what string, pairs [][2]string) {
	t.Helper()
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s: the SDK has %q where the server has %q", what, p[0], p[1])
		}
	}
}

func TestSDKDefaultFaults(t *testing.T) {
	got, err := json.Marshal(client.DefaultFaults())
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(core.DefaultFaults())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("client.DefaultFaults() is\n%s\ncore.DefaultFaults()\n%s", got, want)
	}
	var read client.Faults
	if err := json.Unmarshal([]byte(`{}`), &read); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(read); !bytes.Equal(got, want) {
		t.Fatalf("a profile that omits everything reads as\n%s\nwant the start value\n%s", got, want)
	}
}

// richFaults is a fault profile with every field away from its start
// value and every delay model.
func richFaults() core.Faults {
	f := core.DefaultFaults()
	f.SyncLag = core.Fixed(90 * time.Minute)
	f.ResultSyncLag = core.Uniform(1500*time.Millisecond, 2*time.Hour+30*time.Second)
	f.SMSDelay = core.Delay{Model: core.ModelLogNormal, Median: 5 * time.Second, P99: 3 * time.Minute}
	f.SenderDelays = map[string]core.Delay{"miit": core.Fixed(time.Second), "95555": core.Uniform(0, time.Minute)}
	f.SpamBlockRate, f.DropRate, f.DuplicateRate, f.ReorderRate = 0.1, 0.2, 0.3, 0.4
	f.ReorderMax = 90 * time.Second
	f.Outages = []core.Outage{
		{Carrier: "china_unicom", Prefixes: core.Carriers["china_unicom"], Start: t0, End: t0.Add(time.Hour), Mode: core.ModeHold},
		{Prefixes: []string{"1380"}, Start: t0.Add(1500 * time.Millisecond), End: t0.Add(48 * time.Hour), Mode: core.ModeRefuse},
	}
	f.Throttles = []core.Throttle{
		{Sender: "miit", Limit: 5, Per: time.Minute, Burst: 2, Mode: core.ModeHold},
		{Carrier: "mine", Prefixes: []string{"139"}, Limit: 1, Per: 36 * time.Hour, Burst: 1, Mode: core.ModeRefuse},
	}
	f.SpuriousNotFoundRate, f.LostCodeRate = 0.05, 0.06
	f.MIITSendDelay = core.Uniform(time.Second, 10*time.Second)
	f.ResendPolicy = core.ResendSameCode
	f.ValidationWindow = 90 * time.Minute
	f.AutoResendNoon, f.MagicNumbers = true, false
	f.Review = core.Review{Time: core.Delay{Model: core.ModelLogNormal, Median: time.Hour, P99: 10 * time.Hour}, ApproveRatio: 0.75}
	retention := 90 * time.Minute
	f.Retention = &retention
	f.Language = core.LanguageChinese
	f.Texts = map[string]string{core.TextSMSCode: "【工业和信息化部】验证码{code}", core.TextValidationFailed: "核验失败"}
	f.CodeSender = core.CodeSenderCarrier
	second, lat := 2*time.Second, core.Fixed(250*time.Millisecond)
	slow := core.Delay{Model: core.ModelLogNormal, Median: 100 * time.Millisecond, P99: 2 * time.Second}
	f.APIFaults = []core.APIFault{
		{Route: "POST /miit/v1/validations", Latency: &lat, ErrorRate: 0.25,
			Error: core.APIError{Status: 429, Body: json.RawMessage(`{"error":"busy"}`), RetryAfter: &second}, DropRate: 0.1,
			Next: []core.APIStep{{Calls: 2, Error: core.APIError{Status: 503, RetryAfter: &second}}, {Calls: 1, Drop: true},
				{Calls: 1, Latency: &slow}, {Calls: 3}}},
		{Route: "GET /phones/v1/{phone}/messages/next", ErrorRate: 1, Error: core.APIError{Status: 502}},
	}
	return f
}

func TestSDKFaultsWireForm(t *testing.T) {
	sameWire[client.Faults](t, "faults", richFaults())
	sameWire[client.Faults](t, "the start value", core.DefaultFaults())

	// what the SDK builds, the server reads as the same profile
	f := client.DefaultFaults()
	f.SyncLag = client.Fixed(90 * time.Minute)
	f.SMSDelay = client.LogNormal(5*time.Second, 3*time.Minute)
	f.Outages = []client.Outage{{Carrier: client.CarrierChinaUnicom, Start: t0.In(time.FixedZone("CST", 8*3600)), End: t0.Add(time.Hour), Mode: client.ModeHold}}
	f.Throttles = []client.Throttle{{Sender: "miit", Limit: 5, Per: time.Minute, Mode: client.ModeRefuse}}
	retention := 2 * time.Hour
	f.Retention = &retention
	body, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := core.ParseFaults(body)
	if err != nil {
		t.Fatalf("the server refuses the SDK's %s: %v", body, err)
	}
	want := core.DefaultFaults()
	want.SyncLag = core.Fixed(90 * time.Minute)
	want.SMSDelay = core.Delay{Model: core.ModelLogNormal, Median: 5 * time.Second, P99: 3 * time.Minute}
	want.Outages = []core.Outage{{Carrier: "china_unicom", Prefixes: core.Carriers["china_unicom"], Start: t0, End: t0.Add(time.Hour), Mode: core.ModeHold}}
	want.Throttles = []core.Throttle{{Sender: "miit", Limit: 5, Per: time.Minute, Burst: 5, Mode: core.ModeRefuse}}
	want.Retention = &retention
	got, _ := json.Marshal(parsed)
	if w, _ := json.Marshal(want); !bytes.Equal(got, w) {
		t.Fatalf("the server reads the SDK's profile as\n%s\nwant\n%s", got, w)
	}

	// a delay that names no model has the one its fields say, as the
	// server reads it
	for _, c := range []struct {
		body string
		want client.Delay
	}{
		{`{"value": "5m"}`, client.Fixed(5 * time.Minute)},
		{`{"median": "1m", "p99": "1h"}`, client.LogNormal(time.Minute, time.Hour)},
		{`{"min": "1s", "max": "2s"}`, client.Uniform(time.Second, 2*time.Second)},
		{`{"model": "uniform", "max": "1m"}`, client.Uniform(0, time.Minute)},
	} {
		var d client.Delay
		if err := json.Unmarshal([]byte(c.body), &d); err != nil || d != c.want {
			t.Errorf("delay %s reads as %+v, %v; want %+v", c.body, d, err, c.want)
		}
		f, err := core.ParseFaults([]byte(`{"sms_delay": ` + c.body + `}`))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(d)
		if want, _ := json.Marshal(f.SMSDelay.JSON()); !bytes.Equal(got, want) {
			t.Errorf("delay %s: the SDK reads %s, the server %s", c.body, got, want)
		}
	}
}

// The SDK's journal entries read and write what the server's do, and its
// routes and magic numbers of the API are the server's.
func TestSDKRequestWireForm(t *testing.T) {
	step := 1
	at := t0.Add(90 * time.Minute)
	sameWire[client.Request](t, "journal entry", core.JournalEntry{ID: "abc", Method: "POST", Route: "POST /miit/v1/validations",
		Path: "/miit/v1/validations", Query: "x=1", Body: json.RawMessage(`{"code":"123456"}`), Status: 503,
		Answer: json.RawMessage(`"text"`), At: at, RealAt: at.Add(time.Second), Took: "1.5ms", Phones: []string{"13800000001"},
		Order: "f_0123456789abcdef", Fault: &core.AppliedFault{Call: 3, Step: &step, Magic: "19900000007", Latency: "2s", Status: 503, Dropped: true},
		Truncated: true})
	sameWire[client.Request](t, "a plain entry", core.JournalEntry{ID: "abc", Method: "GET", Route: "GET /phones/v1", Path: "/phones/v1",
		Status: 200, At: at, RealAt: at, Took: "0s"})
	var pairs [][2]string
	for _, r := range []string{client.RouteSubmit, client.RouteProviderFiling, client.RouteCancel, client.RouteChangeNumbers,
		client.RouteValidate, client.RouteResend, client.RouteMIITFiling, client.RouteMessages, client.RouteNextMessage,
		client.RoutePhoneProfile, client.RouteSetPhoneProfile} {
		if !core.IsAPIRoute(r) {
			t.Errorf("the SDK's route %q is not one of the server's: %v", r, core.APIRoutes())
		}
	}
	pairs = append(pairs, [2]string{client.MagicAPIUnavailable, gateway.MagicAPIUnavailable},
		[2]string{client.MagicAPIDropped, gateway.MagicAPIDropped})
	sameConstants(t, "magic numbers of the API", pairs)
}

func TestSDKPhoneProfileWireForm(t *testing.T) {
	sameWire[client.PhoneProfile](t, "the start value", gateway.DefaultProfile())
	sameWire[client.PhoneProfile](t, "profile", gateway.Profile{SpamFilter: true, Service: gateway.ServiceSuspended,
		Reachable: false, Delay: core.Uniform(time.Minute, 90*time.Minute), InboxLimit: 20,
		BlockSenders: []string{"95555"}, BlockKeywords: []string{"lottery", "中奖"}, DuplicateRate: 0.5})
	sameWire[client.PhoneSummary](t, "phone summary", gateway.PhoneSummary{Phone: "13800000001",
		Profile: gateway.DefaultProfile(), Inbox: 3, Blocked: 1})
	got, _ := json.Marshal(client.DefaultPhoneProfile())
	if want, _ := json.Marshal(gateway.DefaultProfile()); !bytes.Equal(got, want) {
		t.Fatalf("client.DefaultPhoneProfile() is\n%s\ngateway.DefaultProfile()\n%s", got, want)
	}
}

func TestSDKClockAndScenarioWireForm(t *testing.T) {
	sameWire[client.ClockState](t, "clock", core.ClockState{Now: t0.Add(1500 * time.Millisecond), Scale: 60, Paused: true})
	sameWire[client.ScenarioResult](t, "scenario result", simulator.ScenarioResult{Name: "s", Faults: richFaults(),
		Phones: map[string]gateway.Profile{"13800000001": gateway.DefaultProfile()}})
	sameWire[client.Scenario](t, "scenario", core.Scenario{Name: "s", Description: "a day",
		Faults: json.RawMessage(`{"drop_rate": 0.5}`),
		Outages: []core.RelativeOutage{
			{Carrier: "china_mobile", After: "1h", For: "3h", Mode: core.ModeHold},
			{Carrier: "mine", Prefixes: []string{"138"}, After: "1h30m", For: "1.5s", Mode: core.ModeRefuse},
		},
		Phones: map[string]json.RawMessage{"13800000001": json.RawMessage(`{"reachable": false}`)}})
}

func TestSDKDeadJobWireForm(t *testing.T) {
	due := t0.Add(30 * time.Minute)
	sameWire[client.DeadJob](t, "dead job", core.DeadJob{Job: "000000000007|1777595400000|miit.sync|f_1|x", Kind: "miit.sync",
		Due: &due, Args: []string{"f_1", "x"}, Error: "malformed job", FailedAt: time.Date(2026, 12, 2, 10, 0, 0, 123e6, time.UTC)})
	sameWire[client.DeadJob](t, "dead job that cannot be read", core.DeadJob{Job: "x|soon", Args: []string{}, Error: "malformed job",
		FailedAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)})
	sameWire[client.DeadJobList](t, "dead jobs", map[string]any{"jobs": []core.DeadJob{}, "total": 0})
}

func TestSDKFaultConstants(t *testing.T) {
	sameConstants(t, "delay models", [][2]string{
		{client.ModelFixed, core.ModelFixed}, {client.ModelUniform, core.ModelUniform}, {client.ModelLogNormal, core.ModelLogNormal},
	})
	sameConstants(t, "modes", [][2]string{{client.ModeHold, core.ModeHold}, {client.ModeRefuse, core.ModeRefuse}})
	sameConstants(t, "resend policies", [][2]string{
		{client.ResendNewCode, core.ResendNewCode}, {client.ResendSameCode, core.ResendSameCode},
	})
	sameConstants(t, "phone services", [][2]string{
		{client.ServiceActive, gateway.ServiceActive}, {client.ServiceSuspended, gateway.ServiceSuspended},
	})
	carriers := []string{client.CarrierChinaMobile, client.CarrierChinaTelecom, client.CarrierChinaUnicom}
	if names := core.CarrierNames(); len(names) != len(carriers) {
		t.Errorf("the server knows the carriers %v, the SDK %v", names, carriers)
	} else {
		for i := range names {
			sameConstants(t, "carriers", [][2]string{{carriers[i], names[i]}})
		}
	}
}

func TestSDKMessageWireForm(t *testing.T) {
	delivered := t0.Add(2 * time.Minute)
	sameWire[client.Message](t, "message", gateway.Message{ID: "m_0123456789abcdef", Phone: "13800000001",
		Sender: "12381", Body: "code 123456", Code: "123456", Status: gateway.StatusDelivered, Reason: gateway.ReasonDropped,
		Folder: gateway.FolderInbox, SentAt: t0, DeliveredAt: &delivered, DuplicateOf: "m_fedcba9876543210",
		Trail: []gateway.Decision{{At: t0, Step: gateway.StepSent, Detail: "from 12381"}, {At: delivered, Step: gateway.StepDelivered, Detail: "inbox"}}})
	sameWire[client.Message](t, "queued message", gateway.Message{ID: "m_0123456789abcdef", Phone: "13800000001",
		Sender: "95555", Body: "hello", Status: gateway.StatusQueued, SentAt: t0, Trail: []gateway.Decision{}})
	sameWire[client.Script](t, "script", gateway.Script{Steps: []gateway.Step{
		{Action: gateway.ActionFail, Count: 2}, {Action: gateway.ActionDelay, Count: 1, By: "40m"}}})
}

func TestSDKMessageConstants(t *testing.T) {
	sameConstants(t, "message states", [][2]string{
		{client.MessageQueued, gateway.StatusQueued}, {client.MessageDelivered, gateway.StatusDelivered},
		{client.MessageBlocked, gateway.StatusBlocked}, {client.MessageFailed, gateway.StatusFailed},
	})
	sameConstants(t, "folders", [][2]string{
		{client.FolderInbox, gateway.FolderInbox}, {client.FolderBlocked, gateway.FolderBlocked},
	})
	sameConstants(t, "reasons", [][2]string{
		{client.ReasonSuspended, gateway.ReasonSuspended}, {client.ReasonUnreachable, gateway.ReasonUnreachable},
		{client.ReasonDropped, gateway.ReasonDropped}, {client.ReasonOutage, gateway.ReasonOutage},
		{client.ReasonThrottled, gateway.ReasonThrottled}, {client.ReasonInboxFull, gateway.ReasonInboxFull},
		{client.ReasonScripted, gateway.ReasonScripted},
	})
	sameConstants(t, "trail steps", [][2]string{
		{client.StepSent, gateway.StepSent}, {client.StepDelay, gateway.StepDelay},
		{client.StepPhoneDelay, gateway.StepPhoneDelay}, {client.StepReorder, gateway.StepReorder},
		{client.StepThrottle, gateway.StepThrottle}, {client.StepScript, gateway.StepScript},
		{client.StepDuplicate, gateway.StepDuplicate}, {client.StepOutage, gateway.StepOutage},
		{client.StepFailed, gateway.StepFailed}, {client.StepBlocked, gateway.StepBlocked},
		{client.StepDelivered, gateway.StepDelivered},
	})
	sameConstants(t, "script actions", [][2]string{
		{client.ActionDeliver, gateway.ActionDeliver}, {client.ActionFail, gateway.ActionFail},
		{client.ActionBlock, gateway.ActionBlock}, {client.ActionDelay, gateway.ActionDelay},
		{client.ActionDuplicate, gateway.ActionDuplicate},
	})
	sameConstants(t, "the start of an inbox", [][2]string{{client.AfterStart, gateway.AfterStart}})
}

// The SDK finds the code of a body where the server does.
func TestSDKCodeIn(t *testing.T) {
	for _, c := range []struct{ body, code string }{
		{"code 123456 here", "123456"},
		{"123456", "123456"},
		{"[MIIT] Your ICP filing verification code is 157817. Enter it within 24 hours.", "157817"},
		{"您的验证码是123456。", "123456"},
		{miit.WordingOf(core.Faults{Language: core.LanguageChinese}, "").Code("048213", 24*time.Hour), "048213"},
		{miit.WordingOf(core.Faults{}, core.LanguageEnglish).Code("048213", 24*time.Hour), "048213"},
		{"【ICP备案】您的ICP备案订单f_0123456789abcdef已提交成功。工业和信息化部将通过106598051001向您发送验证码", ""},
		{"验证码:６５４３２１,验证码为654321", "654321"}, // full-width digits are no code
		{"order f_123456ab: code 654321", "654321"},
		{"1234567 then 234567", "234567"},
		{"12345", ""},
		{"id_123456 and x123456", ""},
		{"codes 111111 and 222222", "111111"},
		{"", ""},
	} {
		srv, sdk := gateway.CodeIn(c.body), client.CodeIn(c.body)
		if srv != c.code || sdk != c.code {
			t.Errorf("code of %q: the server finds %q, the SDK %q; want %q", c.body, srv, sdk, c.code)
		}
	}
}

// The SDK tells MIIT's senders as the server does.
func TestSDKIsMIITSender(t *testing.T) {
	for _, c := range []struct {
		sender string
		miit   bool
	}{
		{"12381", true},
		{"106123456789012381", true},
		{"106000000000012381", true},
		{"10612345678912381", false},
		{"1061234567890123812", false},
		{"12382", false},
		{"95187", false},
		{"106598051001", true}, // China Telecom's sender of MIIT's messages
		{"10655113", true},     // China Unicom's
		{"106575000130", true}, // China Mobile's
		{"10655114", false},
		{"1065751", false},
		{"", false},
	} {
		srv, sdk := gateway.IsMIITSender(c.sender), client.IsMIITSender(c.sender)
		if srv != c.miit || sdk != c.miit {
			t.Errorf("%q is MIIT's: the server says %v, the SDK %v; want %v", c.sender, srv, sdk, c.miit)
		}
	}
}

func TestSDKFilingWireForm(t *testing.T) {
	leader := &miit.Person{Name: "Li Lei", Phone: "13800000001", CertificateNumber: "110101199003071234"}
	admin := &miit.Person{Name: "王芳", Phone: "13800000002", CertificateNumber: "11010119920101567X"}
	sameWire[client.SubmitRequest](t, "submit request", miit.SubmitRequest{Type: miit.TypeFirstFiling, Variant: "website",
		EntityLeader: leader, WebsiteAdmin: admin})
	sameWire[client.SubmitRequest](t, "submit request without variant", miit.SubmitRequest{Type: miit.TypeRemoveProvider})
	sameWire[client.ProviderView](t, "provider view", miit.ProviderView{ID: "f_0123456789abcdef", Type: miit.TypeModify,
		Variant: "entity", Status: miit.StatusPendingValidation, Required: []string{miit.EntityLeader}, SubmittedAt: t0,
		Personnel: []miit.ProviderPerson{{Role: miit.EntityLeader, Name: "Li Lei", Phone: "13800000001", Validated: true}}})
	sameWire[client.ProviderView](t, "provider view of an expired order", miit.ProviderView{ID: "f_0123456789abcdef", Type: miit.TypeFirstFiling,
		Variant: "app", Status: miit.StatusCanceled, CanceledBy: "expiry", Required: []string{miit.EntityLeader}, SubmittedAt: t0,
		Personnel: []miit.ProviderPerson{{Role: miit.EntityLeader, Name: "Li Lei", Phone: "13800000001"}}})
	sent, deadline := t0.Add(time.Hour), t0.Add(25*time.Hour)
	sameWire[client.MIITView](t, "MIIT view", miit.MIITView{ID: "f_0123456789abcdef", Type: miit.TypeCancel, Variant: "website",
		Status: miit.StatusCanceled, CanceledBy: "expiry", CodesSentAt: &sent, Deadline: &deadline,
		Personnel: []miit.MIITPerson{{Role: miit.WebsiteAdmin, Phone: "13800000002", Validated: true, Failures: 2, Resends: 1}}})
	sameWire[client.MIITView](t, "MIIT view before the sync", miit.MIITView{ID: "f_0123456789abcdef", Type: miit.TypeAddProvider,
		Status: miit.StatusUnknown, Personnel: []miit.MIITPerson{}})
	sameWire[client.NumberChange](t, "number change", miit.NumberChange{Phone: "13900000009"})
	sameWire[client.ValidateRequest](t, "validate request", miit.ValidateRequest{Code: "123456", Phone: "13800000001", CertificateLast6: "01567X"})
	sameWire[client.ValidationResult](t, "validation result", miit.ValidationResult{Result: miit.ResultFailed, Message: miit.TextFailed, Rejected: true})
	sameWire[client.ResendRequest](t, "resend request", miit.ResendRequest{Phone: "13800000001", CertificateLast6: "071234"})
	sameWire[client.ResendResult](t, "resend result", miit.ResendResult{Result: miit.ResultResent, Message: miit.TextResent})
}

func TestSDKFilingConstants(t *testing.T) {
	sameConstants(t, "filing types", [][2]string{
		{client.TypeFirstFiling, miit.TypeFirstFiling}, {client.TypeAddService, miit.TypeAddService},
		{client.TypeAddProvider, miit.TypeAddProvider}, {client.TypeModify, miit.TypeModify},
		{client.TypeCancel, miit.TypeCancel}, {client.TypeRemoveProvider, miit.TypeRemoveProvider},
	})
	sameConstants(t, "roles", [][2]string{{client.EntityLeader, miit.EntityLeader}, {client.WebsiteAdmin, miit.WebsiteAdmin}})
	sameConstants(t, "filing statuses", [][2]string{
		{client.FilingUnknown, miit.StatusUnknown}, {client.FilingSubmitted, miit.StatusSubmitted},
		{client.FilingPendingValidation, miit.StatusPendingValidation}, {client.FilingUnderReview, miit.StatusUnderReview},
		{client.FilingApproved, miit.StatusApproved}, {client.FilingReturned, miit.StatusReturned},
		{client.FilingRejected, miit.StatusRejected}, {client.FilingCanceled, miit.StatusCanceled},
	})
	sameConstants(t, "result words", [][2]string{
		{client.ResultComplete, miit.ResultComplete}, {client.ResultPartial, miit.ResultPartial},
		{client.ResultFailed, miit.ResultFailed}, {client.ResultNotFound, miit.ResultNotFound},
		{client.ResultResent, miit.ResultResent}, {client.ResultNoPending, miit.ResultNoPending},
		{client.ResultLimitReached, miit.ResultLimitReached},
	})
	sameConstants(t, "MIIT's texts", [][2]string{
		{client.TextComplete, miit.TextComplete}, {client.TextPartial, miit.TextPartial},
		{client.TextFailed, miit.TextFailed}, {client.TextValidateNotFound, miit.TextValidateNotFound},
		{client.TextResent, miit.TextResent}, {client.TextNoPending, miit.TextNoPending},
		{client.TextResendNotFound, miit.TextResendNotFound}, {client.TextLimitReached, miit.TextLimitReached},
		{client.TextZhComplete, miit.TextZhComplete}, {client.TextZhPartial, miit.TextZhPartial},
		{client.TextZhFailed, miit.TextZhFailed}, {client.TextZhValidateNotFound, miit.TextZhValidateNotFound},
		{client.TextZhResent, miit.TextZhResent}, {client.TextZhNoPending, miit.TextZhNoPending},
		{client.TextZhResendNotFound, miit.TextZhResendNotFound}, {client.TextZhLimitReached, miit.TextZhLimitReached},
	})
	sameConstants(t, "languages", [][2]string{
		{client.LanguageEnglish, core.LanguageEnglish}, {client.LanguageChinese, core.LanguageChinese},
		{client.CodeSenderCarrier, core.CodeSenderCarrier},
	})
	sdkIDs := []string{client.TextIDValidationComplete, client.TextIDValidationPartial, client.TextIDValidationFailed,
		client.TextIDValidationNotFound, client.TextIDResendResent, client.TextIDResendNoPending, client.TextIDResendNotFound,
		client.TextIDResendLimitReached, client.TextIDSMSCode, client.TextIDSMSNotice}
	sort.Strings(sdkIDs)
	if got, want := strings.Join(sdkIDs, " "), strings.Join(core.TextIDs(), " "); got != want {
		t.Errorf("the SDK's text ids are %s, the server's %s", got, want)
	}
	for name, sender := range core.CarrierSenders {
		if client.CarrierSenders[name] != sender {
			t.Errorf("the SDK's sender of %s is %q, the server's %q", name, client.CarrierSenders[name], sender)
		}
	}
	if len(client.CarrierSenders) != len(core.CarrierSenders) {
		t.Errorf("the SDK knows %d carriers' senders, the server %d", len(client.CarrierSenders), len(core.CarrierSenders))
	}
}

// The SDK knows who must validate which order as the server does.
func TestSDKRequired(t *testing.T) {
	types := []string{miit.TypeFirstFiling, miit.TypeAddService, miit.TypeAddProvider, miit.TypeModify,
		miit.TypeCancel, miit.TypeRemoveProvider, "renewal", ""}
	variants := []string{"", "website", "website_and_app", "app", "entity", "service", "entity_and_service", "shop"}
	taken := 0
	for _, typ := range types {
		for _, variant := range variants {
			want, err := miit.Required(typ, variant)
			got, ok := client.Required(typ, variant)
			if ok != (err == nil) || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("Required(%q, %q): the SDK answers %v %v, the server %v %v", typ, variant, got, ok, want, err)
			}
			if ok {
				taken++
			}
		}
	}
	if taken != 14 {
		t.Errorf("%d pairs of type and variant taken, want the 14 of MIIT's table", taken)
	}
}

func TestSDKEventWireForm(t *testing.T) {
	sameWire[client.Event](t, "event", core.Record{ID: "1777593600000-0", At: t0.Add(1500 * time.Millisecond),
		Kind: core.KindValidation, Namespace: "team-a", Data: json.RawMessage(`{"phone":"13800000001","result":"failed"}`)})
}

func TestSDKEventKinds(t *testing.T) {
	sdk := []string{client.KindFilingSubmitted, client.KindFilingStatus, client.KindSMSSent, client.KindSMSDelivered,
		client.KindSMSBlocked, client.KindSMSFailed, client.KindValidation, client.KindResend, client.KindClock,
		client.KindFaults, client.KindPhone, client.KindPhoneCleared, client.KindReset}
	srv := []string{core.KindFilingSubmitted, core.KindFilingStatus, core.KindSMSSent, core.KindSMSDelivered,
		core.KindSMSBlocked, core.KindSMSFailed, core.KindValidation, core.KindResend, core.KindClock,
		core.KindFaults, core.KindPhone, core.KindPhoneCleared, core.KindReset}
	for i := range sdk {
		sameConstants(t, "event kinds", [][2]string{{sdk[i], srv[i]}})
	}
	// every kind of the log has its constant in the SDK, and a webhook may
	// ask for each but reset (which deletes the webhooks)
	if strings.Join(srv, ",") != strings.Join(core.EventKinds(), ",") {
		t.Errorf("the SDK has the kinds %v, the server %v", srv, core.EventKinds())
	}
	if want := strings.TrimSuffix(strings.Join(srv, ","), ","+core.KindReset); strings.Join(webhook.Kinds, ",") != want {
		t.Errorf("a webhook may ask for %v, want %s", webhook.Kinds, want)
	}
}

func TestSDKWebhookWireForm(t *testing.T) {
	sameWire[client.Webhook](t, "webhook", webhook.Hook{ID: "wh_3f2a9c0d1e4b5a67", URL: "http://127.0.0.1:9000/smsim",
		Events: []string{core.KindClock, core.KindValidation}, Secret: "s3cret", CreatedAt: time.Date(2026, 11, 27, 9, 30, 0, 5, time.UTC)})
	next := t0.Add(2 * time.Second)
	sameWire[client.WebhookDelivery](t, "delivery", webhook.Delivery{ID: "whd_0123456789abcdef", HookID: "wh_3f2a9c0d1e4b5a67",
		EventID: "1777593600000-0", Kind: core.KindClock, Attempt: 2, Status: webhook.StatusRetrying, StatusCode: 500,
		Error: "status 500", At: t0, DurationMS: 12, NextAttemptAt: &next})
	sameWire[client.WebhookPayload](t, "payload", webhook.Payload{ID: "whd_0123456789abcdef", HookID: "wh_3f2a9c0d1e4b5a67",
		Attempt: 1, Event: core.Record{ID: "1777593600000-0", At: t0, Kind: core.KindClock, Namespace: "default", Data: json.RawMessage(`{"by":"1h"}`)}})
}

func TestSDKWebhookConstants(t *testing.T) {
	sameConstants(t, "delivery statuses", [][2]string{
		{client.DeliveryDelivered, webhook.StatusDelivered}, {client.DeliveryRetrying, webhook.StatusRetrying},
		{client.DeliveryFailed, webhook.StatusFailed},
	})
	sameConstants(t, "headers of a post", [][2]string{
		{client.WebhookEventHeader, webhook.HeaderEvent}, {client.WebhookDeliveryHeader, webhook.HeaderDelivery},
		{client.WebhookTimestampHeader, webhook.HeaderTimestamp}, {client.WebhookSignatureHeader, webhook.HeaderSignature},
	})
	if got, want := strings.Join(client.DefaultWebhookEvents(), ","), strings.Join(webhook.DefaultEvents, ","); got != want {
		t.Errorf("the SDK's default events of a webhook are %s, the server's %s", got, want)
	}
	if client.DefaultWebhookTolerance != webhook.DefaultTolerance {
		t.Errorf("the SDK's default tolerance is %s, the server's %s", client.DefaultWebhookTolerance, webhook.DefaultTolerance)
	}
}

// The SDK takes the posts the server signs, and refuses what the server's
// own check refuses.
func TestSDKVerifyWebhook(t *testing.T) {
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"whd_0123456789abcdef","hook_id":"wh_3f2a9c0d1e4b5a67","attempt":1,"event":{}}`)
	signed := http.Header{}
	signed.Set(webhook.HeaderTimestamp, ts)
	signed.Set(webhook.HeaderSignature, webhook.Sign("s3cret", ts, body))
	for _, c := range []struct {
		name   string
		secret string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"as signed", "s3cret", body, now, true},
		{"another secret", "other", body, now, false},
		{"another body", "s3cret", append([]byte(" "), body...), now, false},
		{"a minute later", "s3cret", body, now.Add(time.Minute), true},
		{"an hour later", "s3cret", body, now.Add(time.Hour), false},
	} {
		srv := webhook.Verify(c.secret, signed, c.body, c.now, 0)
		sdk := client.VerifyWebhook(c.secret, signed, c.body, c.now, 0)
		if (srv == nil) != c.ok || (sdk == nil) != c.ok {
			t.Errorf("%s: the server's check says %v, the SDK's %v; want ok %v", c.name, srv, sdk, c.ok)
		}
		if srv != nil && (sdk == nil || srv.Error() != sdk.Error()) {
			t.Errorf("%s: the server's check says %v, the SDK's %v", c.name, srv, sdk)
		}
	}
}

// The SDK takes the namespaces the server takes, and names them in the
// server's header.
func TestSDKNamespaces(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"default", true}, {"Team-B.2_x", true}, {"0", true}, {strings.Repeat("n", 64), true},
		{"", false}, {"a b", false}, {"-a", false}, {".a", false}, {"_a", false}, {"a/b", false}, {"ä", false},
		{"a\n", false}, {strings.Repeat("n", 65), false},
	} {
		srv, sdk := simulator.ValidNamespace(c.name), client.ValidNamespace(c.name)
		if srv != c.ok || sdk != c.ok {
			t.Errorf("namespace %q: the server takes it %v, the SDK %v; want %v", c.name, srv, sdk, c.ok)
		}
	}
	sameConstants(t, "the namespace header", [][2]string{{client.NamespaceHeader, server.NamespaceHeader}})
}

func TestSDKScheduleWireForm(t *testing.T) {
	sameWire[client.ScheduledJob](t, "a code", simulator.ScheduledJob{Kind: miit.JobCode, Due: t0.Add(1500 * time.Millisecond), Order: "f_85bbaf51479afbe4", Phone: "13800000001"})
	sameWire[client.ScheduledJob](t, "a delivery", simulator.ScheduledJob{Kind: gateway.JobDeliver, Due: t0, Phone: "13800000001", Message: "m_9c1d0b7e4a563f2a"})
	sameWire[client.Schedule](t, "a schedule", simulator.Schedule{Now: t0, More: true,
		Scheduled: []simulator.ScheduledJob{{Kind: miit.JobSync, Due: t0, Order: "f_85bbaf51479afbe4"}}})
}

func TestSDKJobKinds(t *testing.T) {
	sdk := []string{client.JobDeliver, client.JobAutoResend, client.JobCode, client.JobExpire, client.JobResult,
		client.JobReview, client.JobSync, client.JobNotice}
	srv := simulator.JobKinds()
	if len(sdk) != len(srv) {
		t.Fatalf("the SDK has %d job kinds, the server %d: %v", len(sdk), len(srv), srv)
	}
	for i := range sdk {
		sameConstants(t, "job kinds", [][2]string{{sdk[i], srv[i]}})
	}
}
