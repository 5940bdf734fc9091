package server_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"smsim/simulator/core"
)

// rawRequest sends a request as it is: body (none when both body and
// contentType are empty) with the Content-Type given (none when empty),
// plus hdr. It answers the response, its body read.
func rawRequest(t testing.TB, method, url, contentType, body string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" || contentType != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp, b
}

// problem is an RFC 9457 problem detail.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func problemOf(t testing.TB, b []byte) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem %s: %v", b, err)
	}
	return p
}

// wantProblem checks an error answer: the status, an
// application/problem+json body with type, title, status and detail, the
// detail holding detail.
func wantProblem(t testing.TB, what string, resp *http.Response, body []byte, status int, detail string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body %s", what, resp.StatusCode, status, body)
		return
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json; body %s", what, ct, body)
		return
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Errorf("%s: the problem is not a JSON object: %s", what, body)
		return
	}
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s: the problem has no %q: %s", what, k, body)
			return
		}
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("%s: problem %s: %v", what, body, err)
		return
	}
	if p.Type == "" || p.Title != http.StatusText(status) || p.Status != status {
		t.Errorf("%s: problem %+v, want a type, title %q and status %d", what, p, http.StatusText(status), status)
	}
	if p.Detail == "" || !strings.Contains(p.Detail, detail) {
		t.Errorf("%s: detail %q does not contain %q", what, p.Detail, detail)
	}
}

// Parts of filing orders for the table.
const (
	goodLeader = `{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234"}`
	goodAdmin  = `{"name":"Han Meimei","phone":"13800000002","certificate_number":"11010119920101567X"}`
)

// filingBody is a first_filing/website order with the given people (JSON
// objects, or "" to leave one out).
func filingBody(typ, variant, leader, admin string) string {
	var parts []string
	if typ != "" {
		parts = append(parts, `"type":`+typ)
	}
	if variant != "" {
		parts = append(parts, `"variant":`+variant)
	}
	if leader != "" {
		parts = append(parts, `"entity_leader":`+leader)
	}
	if admin != "" {
		parts = append(parts, `"website_admin":`+admin)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func website(leader, admin string) string {
	return filingBody(`"first_filing"`, `"website"`, leader, admin)
}

func leaderWith(name, phone, cert string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "phone": phone, "certificate_number": cert})
	return string(b)
}

// The phones of the table; none may hold a message after it.
var badInputPhones = []string{"13800000001", "13800000002", "13800000003", "13900000009"}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	// A state that is not the start, so that a change back to a start value
	// shows.
	e.patchFaults(`{"sync_lag":{"min":"5m","max":"10m"},"sms_delay":{"min":"1m","max":"2m"},"drop_rate":0.25,
		"spam_block_rate":0.5,"validation_window":"48h","auto_resend_noon":true,"review":{"min":"1h","max":"2h","approve_ratio":0.5}}`)
	e.call("PUT", "/admin/v1/clock", `{"scale":3}`, 200, nil)
	e.advance("90m")
	const profile = `{"spam_filter":true,"service":"suspended","reachable":false}`
	e.putProfile("13800000003", profile)

	_, faultsBefore := e.do("GET", "/admin/v1/faults", nil)
	_, clockBefore := e.do("GET", "/admin/v1/clock", nil)
	keysBefore := storeKeys(t, e)

	const js = "application/json"
	big := `{"from":"95187","to":"13800000001","body":"` + strings.Repeat("x", 65*1024) + `"}`
	long1001 := strings.Repeat("a", 1001)
	cjk1001 := strings.Repeat("验", 1001)

	cases := []struct {
		name         string
		method, path string
		ctype, body  string
		status       int
		detail       string
	}{
		// bodies that are not JSON
		{"text/plain", "POST", "/provider/v1/filings", "text/plain", website(goodLeader, goodAdmin), 415, "Content-Type"},
		{"form", "POST", "/provider/v1/filings", "application/x-www-form-urlencoded", "type=first_filing&variant=website", 415, "Content-Type"},
		{"text/plain validation", "POST", "/miit/v1/validations", "text/plain; charset=utf-8", `{"code":"123456","phone":"13800000001","certificate_last6":"071234"}`, 415, "Content-Type"},
		{"form resend", "POST", "/miit/v1/resends", "application/x-www-form-urlencoded", "phone=13800000001&certificate_last6=071234", 415, "Content-Type"},
		{"text/plain message", "POST", "/gateway/v1/messages", "text/plain", `{"from":"95187","to":"13800000001","body":"x"}`, 415, "Content-Type"},
		{"text/plain faults PUT", "PUT", "/admin/v1/faults", "text/plain", `{}`, 415, "Content-Type"},
		{"form faults PATCH", "PATCH", "/admin/v1/faults", "application/x-www-form-urlencoded", "drop_rate=1", 415, "Content-Type"},
		{"text/plain clock", "PUT", "/admin/v1/clock", "text/plain", `{"scale":2}`, 415, "Content-Type"},
		{"text/plain advance", "POST", "/admin/v1/clock/advance", "text/plain", `{"by":"1h"}`, 415, "Content-Type"},
		{"text/plain profile", "PUT", "/phones/v1/13800000001/profile", "text/plain", `{"spam_filter":true}`, 415, "Content-Type"},
		{"bad media type", "POST", "/provider/v1/filings", "application/", website(goodLeader, goodAdmin), 415, "Content-Type"},

		// not one JSON object
		{"invalid JSON", "POST", "/provider/v1/filings", js, `{"type":"first_filing",`, 400, "body"},
		{"invalid JSON token", "POST", "/provider/v1/filings", js, `{type: first_filing}`, 400, "body"},
		{"empty body", "POST", "/provider/v1/filings", js, ``, 400, "body"},
		{"empty body validation", "POST", "/miit/v1/validations", js, ``, 400, "body"},
		{"empty body resend", "POST", "/miit/v1/resends", js, ``, 400, "body"},
		{"empty body message", "POST", "/gateway/v1/messages", js, ``, 400, "body"},
		{"empty body clock", "PUT", "/admin/v1/clock", js, ``, 400, "body"},
		{"empty body advance", "POST", "/admin/v1/clock/advance", js, ``, 400, "body"},
		{"empty body faults PUT", "PUT", "/admin/v1/faults", js, ``, 400, "body"},
		{"empty body faults PATCH", "PATCH", "/admin/v1/faults", js, ``, 400, "body"},
		{"empty body profile", "PUT", "/phones/v1/13800000001/profile", js, ``, 400, "body"},
		{"two JSON values", "POST", "/provider/v1/filings", js, website(goodLeader, goodAdmin) + website(goodLeader, goodAdmin), 400, "body"},
		{"two JSON values message", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":"x"} {}`, 400, "body"},
		{"JSON then garbage", "POST", "/admin/v1/clock/advance", js, `{"by":"1h"} x`, 400, "body"},
		{"two JSON values faults", "PUT", "/admin/v1/faults", js, `{} {}`, 400, "body"},
		{"two JSON values patch", "PATCH", "/admin/v1/faults", js, `{"drop_rate":0} {"drop_rate":1}`, 400, "body"},
		{"array", "POST", "/provider/v1/filings", js, "[" + website(goodLeader, goodAdmin) + "]", 400, "body"},
		{"array validation", "POST", "/miit/v1/validations", js, `[]`, 400, "body"},
		{"array message", "POST", "/gateway/v1/messages", js, `[{"from":"95187","to":"13800000001","body":"x"}]`, 400, "body"},
		{"array clock", "PUT", "/admin/v1/clock", js, `[{"scale":2}]`, 400, "body"},
		{"array faults PUT", "PUT", "/admin/v1/faults", js, `[]`, 400, "body"},
		{"array profile", "PUT", "/phones/v1/13800000001/profile", js, `[]`, 400, "body"},
		{"string body", "POST", "/admin/v1/clock/advance", js, `"1h"`, 400, "body"},
		{"null faults PUT", "PUT", "/admin/v1/faults", js, `null`, 400, "body"},
		{"null profile", "PUT", "/phones/v1/13800000003/profile", js, `null`, 400, "body"},
		{"null clock", "PUT", "/admin/v1/clock", js, `null`, 400, "body"},
		{"oversized", "POST", "/gateway/v1/messages", js, big, 413, "body"},
		{"oversized filing", "POST", "/provider/v1/filings", js, website(leaderWith(strings.Repeat("n", 70*1024), "13800000001", "110101199003071234"), goodAdmin), 413, "body"},
		{"oversized faults", "PUT", "/admin/v1/faults", js, `{"validation_window":"` + strings.Repeat("1", 66*1024) + `h"}`, 413, "body"},

		// unknown fields, wrong JSON types
		{"unknown field", "POST", "/provider/v1/filings", js, `{"type":"first_filing","variant":"website","priority":1,"entity_leader":` + goodLeader + `,"website_admin":` + goodAdmin + `}`, 400, "priority"},
		{"unknown person field", "POST", "/provider/v1/filings", js, website(`{"name":"Li Lei","phone":"13800000001","certificate_number":"110101199003071234","age":30}`, goodAdmin), 400, "age"},
		{"unknown field validation", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"13800000001","certificate_last6":"071234","attempt":1}`, 400, "attempt"},
		{"unknown field resend", "POST", "/miit/v1/resends", js, `{"phone":"13800000001","certificate_last6":"071234","force":true}`, 400, "force"},
		{"unknown field message", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":"x","priority":"high"}`, 400, "priority"},
		{"unknown field clock", "PUT", "/admin/v1/clock", js, `{"scale":2,"now":"2026-01-01T00:00:00Z"}`, 400, "now"},
		{"unknown field advance", "POST", "/admin/v1/clock/advance", js, `{"by":"1h","to":"2026-06-01T00:00:00Z"}`, 400, "to"},
		{"number for type", "POST", "/provider/v1/filings", js, filingBody(`1`, `"website"`, goodLeader, goodAdmin), 400, "type"},
		{"number for phone", "POST", "/provider/v1/filings", js, website(`{"name":"Li Lei","phone":13800000001,"certificate_number":"110101199003071234"}`, goodAdmin), 400, "entity_leader.phone"},
		{"string for person", "POST", "/provider/v1/filings", js, website(`"Li Lei"`, goodAdmin), 400, "entity_leader"},
		{"number for code", "POST", "/miit/v1/validations", js, `{"code":123456,"phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"number for phone validation", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":13800000001,"certificate_last6":"071234"}`, 400, "phone"},
		{"number for certificate_last6", "POST", "/miit/v1/resends", js, `{"phone":"13800000001","certificate_last6":71234}`, 400, "certificate_last6"},
		{"number for from", "POST", "/gateway/v1/messages", js, `{"from":95187,"to":"13800000001","body":"x"}`, 400, "from"},
		{"number for body", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":123456}`, 400, "body"},
		{"null code", "POST", "/miit/v1/validations", js, `{"code":null,"phone":"13800000001","certificate_last6":"071234"}`, 400, "code: null; give a value, or leave the field out"},
		{"null certificate_last6", "POST", "/miit/v1/resends", js, `{"phone":"13800000001","certificate_last6":null}`, 400, "certificate_last6: null; give a value, or leave the field out"},
		{"null name of a person", "POST", "/provider/v1/filings", js, website(goodLeader, `{"name":null,"phone":"13800000002","certificate_number":"110101199204151234"}`), 400, "website_admin.name: null; give a value, or leave the field out"},
		{"null phone in personnel", "PATCH", "/provider/v1/filings/f_0123456789abcdef/personnel", js, `{"website_admin":{"phone":null}}`, 400, "website_admin.phone: null; give a value, or leave the field out"},
		{"null clock field", "PUT", "/admin/v1/clock", js, `{"scale":null}`, 400, "scale: null; give a value, or leave the field out"},

		// filings
		{"bad type", "POST", "/provider/v1/filings", js, filingBody(`"second_filing"`, `"website"`, goodLeader, goodAdmin), 400, "type"},
		{"missing type", "POST", "/provider/v1/filings", js, filingBody(``, `"website"`, goodLeader, goodAdmin), 400, "type"},
		{"bad variant", "POST", "/provider/v1/filings", js, filingBody(`"first_filing"`, `"blog"`, goodLeader, goodAdmin), 400, "variant"},
		{"missing variant", "POST", "/provider/v1/filings", js, filingBody(`"add_service"`, ``, goodLeader, goodAdmin), 400, "variant"},
		{"variant of another type", "POST", "/provider/v1/filings", js, filingBody(`"modify"`, `"website"`, goodLeader, goodAdmin), 400, "variant"},
		{"empty variant of a type without", "POST", "/provider/v1/filings", js, filingBody(`"remove_provider"`, `""`, "", ""), 400, `variant: ""; give a variant`},
		{"null variant", "POST", "/provider/v1/filings", js, filingBody(`"add_provider"`, `null`, goodLeader, ""), 400, "variant: null; give a variant"},
		{"null person", "POST", "/provider/v1/filings", js, filingBody(`"remove_provider"`, "", "null", ""), 400, "entity_leader: null; give the person"},
		{"null admin", "POST", "/provider/v1/filings", js, `{"type":"first_filing","variant":"app","entity_leader":` + goodLeader + `,"website_admin":null}`, 400, "website_admin: null; give the person"},
		{"variant given to add_provider", "POST", "/provider/v1/filings", js, filingBody(`"add_provider"`, `"website"`, goodLeader, goodAdmin), 400, "variant"},
		{"variant given to remove_provider", "POST", "/provider/v1/filings", js, filingBody(`"remove_provider"`, `"app"`, ``, ``), 400, "variant"},
		{"missing website_admin", "POST", "/provider/v1/filings", js, website(goodLeader, ``), 400, "website_admin"},
		{"null website_admin", "POST", "/provider/v1/filings", js, website(goodLeader, `null`), 400, "website_admin"},
		{"missing entity_leader", "POST", "/provider/v1/filings", js, filingBody(`"cancel"`, `"entity"`, ``, goodAdmin), 400, "entity_leader"},
		{"missing admin of modify/service", "POST", "/provider/v1/filings", js, filingBody(`"modify"`, `"service"`, goodLeader, ``), 400, "website_admin"},
		{"missing both of add_provider", "POST", "/provider/v1/filings", js, filingBody(`"add_provider"`, ``, ``, goodAdmin), 400, "entity_leader"},
		{"bad leader phone", "POST", "/provider/v1/filings", js, website(leaderWith("Li Lei", "23800000001", "110101199003071234"), goodAdmin), 400, "entity_leader.phone"},
		{"short leader phone", "POST", "/provider/v1/filings", js, website(leaderWith("Li Lei", "12345", "110101199003071234"), goodAdmin), 400, "entity_leader.phone"},
		{"missing admin phone", "POST", "/provider/v1/filings", js, website(goodLeader, `{"name":"Han Meimei","certificate_number":"11010119920101567X"}`), 400, "website_admin.phone"},
		{"bad phone of a person not required", "POST", "/provider/v1/filings", js, filingBody(`"first_filing"`, `"app"`, goodLeader, leaderWith("Han", "1380000000x", "11010119920101567X")), 400, "website_admin.phone"},
		{"certificate too short", "POST", "/provider/v1/filings", js, website(leaderWith("Li Lei", "13800000001", "12345"), goodAdmin), 400, "entity_leader.certificate_number"},
		{"certificate too long", "POST", "/provider/v1/filings", js, website(leaderWith("Li Lei", "13800000001", strings.Repeat("1", 33)), goodAdmin), 400, "entity_leader.certificate_number"},
		{"certificate with symbols", "POST", "/provider/v1/filings", js, website(goodLeader, leaderWith("Han Meimei", "13800000002", "110101-19920101")), 400, "website_admin.certificate_number"},
		{"certificate with a space", "POST", "/provider/v1/filings", js, website(leaderWith("Li Lei", "13800000001", "110101 199003071234"), goodAdmin), 400, "entity_leader.certificate_number"},
		{"missing certificate", "POST", "/provider/v1/filings", js, website(`{"name":"Li Lei","phone":"13800000001"}`, goodAdmin), 400, "entity_leader.certificate_number"},
		{"missing name", "POST", "/provider/v1/filings", js, website(`{"phone":"13800000001","certificate_number":"110101199003071234"}`, goodAdmin), 400, "entity_leader.name"},
		{"blank name", "POST", "/provider/v1/filings", js, website(goodLeader, leaderWith("   ", "13800000002", "11010119920101567X")), 400, "website_admin.name"},
		{"name too long", "POST", "/provider/v1/filings", js, website(leaderWith(strings.Repeat("李", 101), "13800000001", "110101199003071234"), goodAdmin), 400, "entity_leader.name"},

		// validations and resends
		{"code of five digits", "POST", "/miit/v1/validations", js, `{"code":"12345","phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"code of seven digits", "POST", "/miit/v1/validations", js, `{"code":"1234567","phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"code with a letter", "POST", "/miit/v1/validations", js, `{"code":"12a456","phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"code with spaces", "POST", "/miit/v1/validations", js, `{"code":" 123456","phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"code of full-width digits", "POST", "/miit/v1/validations", js, `{"code":"１２３４５６","phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"missing code", "POST", "/miit/v1/validations", js, `{"phone":"13800000001","certificate_last6":"071234"}`, 400, "code"},
		{"certificate_last6 of five", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"13800000001","certificate_last6":"12345"}`, 400, "certificate_last6"},
		{"certificate_last6 of seven", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"13800000001","certificate_last6":"1234567"}`, 400, "certificate_last6"},
		{"certificate_last6 with a symbol", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"13800000001","certificate_last6":"07123-"}`, 400, "certificate_last6"},
		{"missing certificate_last6", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"13800000001"}`, 400, "certificate_last6"},
		{"validation with a bad phone", "POST", "/miit/v1/validations", js, `{"code":"123456","phone":"23800000001","certificate_last6":"071234"}`, 400, "phone"},
		{"validation without phone", "POST", "/miit/v1/validations", js, `{"code":"123456","certificate_last6":"071234"}`, 400, "phone"},
		{"resend with a bad phone", "POST", "/miit/v1/resends", js, `{"phone":"12345","certificate_last6":"071234"}`, 400, "phone"},
		{"resend with a phone of letters", "POST", "/miit/v1/resends", js, `{"phone":"+86abcdefghijk","certificate_last6":"071234"}`, 400, "phone"},
		{"resend without phone", "POST", "/miit/v1/resends", js, `{"certificate_last6":"071234"}`, 400, "phone"},
		{"resend with certificate_last6 of five", "POST", "/miit/v1/resends", js, `{"phone":"13800000001","certificate_last6":"12345"}`, 400, "certificate_last6"},
		{"resend without certificate_last6", "POST", "/miit/v1/resends", js, `{"phone":"13800000001"}`, 400, "certificate_last6"},

		// the clock
		{"scale 0", "PUT", "/admin/v1/clock", js, `{"scale":0}`, 400, "scale"},
		{"scale -1", "PUT", "/admin/v1/clock", js, `{"scale":-1}`, 400, "scale"},
		{"scale 2e6", "PUT", "/admin/v1/clock", js, `{"scale":2e6}`, 400, "scale"},
		{"scale 0 with paused", "PUT", "/admin/v1/clock", js, `{"scale":0,"paused":false}`, 400, "scale"},
		{"scale as a string", "PUT", "/admin/v1/clock", js, `{"scale":"2"}`, 400, "scale"},
		{"paused as a string", "PUT", "/admin/v1/clock", js, `{"paused":"no"}`, 400, "paused"},
		{"clock empty object", "PUT", "/admin/v1/clock", js, `{}`, 400, "scale"},
		{"advance -1h", "POST", "/admin/v1/clock/advance", js, `{"by":"-1h"}`, 400, "by"},
		{"advance abc", "POST", "/admin/v1/clock/advance", js, `{"by":"abc"}`, 400, "by"},
		{"advance without unit", "POST", "/admin/v1/clock/advance", js, `{"by":"30"}`, 400, "by"},
		{"advance missing", "POST", "/admin/v1/clock/advance", js, `{}`, 400, "by"},
		{"advance empty", "POST", "/admin/v1/clock/advance", js, `{"by":""}`, 400, "by"},
		{"advance by a number", "POST", "/admin/v1/clock/advance", js, `{"by":5}`, 400, "by"},
		{"advance too far", "POST", "/admin/v1/clock/advance", js, `{"by":"100000h"}`, 400, "by"},
		{"advance overflowing", "POST", "/admin/v1/clock/advance", js, `{"by":"99999999999h"}`, 400, "by"},

		// the fault profile
		{"PUT negative min", "PUT", "/admin/v1/faults", js, `{"sms_delay":{"min":"-1s","max":"0s"}}`, 400, "sms_delay.min"},
		{"PUT negative max", "PUT", "/admin/v1/faults", js, `{"sync_lag":{"min":"0s","max":"-30m"}}`, 400, "sync_lag.max"},
		{"PUT min over max", "PUT", "/admin/v1/faults", js, `{"sync_lag":{"min":"2h","max":"1h"}}`, 400, "sync_lag"},
		{"PUT result_sync_lag min over max", "PUT", "/admin/v1/faults", js, `{"result_sync_lag":{"min":"6m","max":"5m"}}`, 400, "result_sync_lag"},
		{"PUT review min over max", "PUT", "/admin/v1/faults", js, `{"review":{"min":"10h","max":"1h","approve_ratio":1}}`, 400, "review"},
		{"PUT bad duration", "PUT", "/admin/v1/faults", js, `{"result_sync_lag":{"min":"soon","max":"5m"}}`, 400, "result_sync_lag.min"},
		{"PUT duration too long", "PUT", "/admin/v1/faults", js, `{"validation_window":"100000h"}`, 400, "validation_window"},
		{"PUT drop_rate < 0", "PUT", "/admin/v1/faults", js, `{"drop_rate":-0.1}`, 400, "drop_rate"},
		{"PUT drop_rate > 1", "PUT", "/admin/v1/faults", js, `{"drop_rate":1.5}`, 400, "drop_rate"},
		{"PUT spam_block_rate > 1", "PUT", "/admin/v1/faults", js, `{"spam_block_rate":2}`, 400, "spam_block_rate"},
		{"PUT spurious_not_found_rate < 0", "PUT", "/admin/v1/faults", js, `{"spurious_not_found_rate":-1}`, 400, "spurious_not_found_rate"},
		{"PUT approve_ratio > 1", "PUT", "/admin/v1/faults", js, `{"review":{"min":"1h","max":"2h","approve_ratio":1.01}}`, 400, "review.approve_ratio"},
		{"PUT validation_window 0s", "PUT", "/admin/v1/faults", js, `{"validation_window":"0s"}`, 400, "validation_window"},
		{"PUT validation_window negative", "PUT", "/admin/v1/faults", js, `{"validation_window":"-24h"}`, 400, "validation_window"},
		{"PUT unknown field", "PUT", "/admin/v1/faults", js, `{"chaos_rate":0.5}`, 400, "chaos_rate"},
		{"PUT range as a string", "PUT", "/admin/v1/faults", js, `{"sms_delay":"10m"}`, 400, "sms_delay"},
		{"PUT rate as a string", "PUT", "/admin/v1/faults", js, `{"drop_rate":"0.5"}`, 400, "drop_rate"},
		{"PUT duration as a number", "PUT", "/admin/v1/faults", js, `{"validation_window":86400}`, 400, "validation_window"},
		{"PUT flag as a string", "PUT", "/admin/v1/faults", js, `{"auto_resend_noon":"yes"}`, 400, "auto_resend_noon"},
		{"PATCH negative min", "PATCH", "/admin/v1/faults", js, `{"sms_delay":{"min":"-1s"}}`, 400, "sms_delay.min"},
		{"PATCH an unknown field to null", "PATCH", "/admin/v1/faults", js, `{"x":null}`, 400, "x: unknown field"},
		{"PATCH an unknown delay field to null", "PATCH", "/admin/v1/faults", js, `{"sms_delay":{"bogus":null}}`, 400, "bogus"},
		{"PATCH a bad sender to null", "PATCH", "/admin/v1/faults", js, `{"sender_delays":{"abc":null}}`, 400, `sender_delays: "abc" is neither a sender number`},
		{"PATCH min over max", "PATCH", "/admin/v1/faults", js, `{"sms_delay":{"min":"1h"}}`, 400, "sms_delay"},
		{"PATCH max under min", "PATCH", "/admin/v1/faults", js, `{"sync_lag":{"max":"1m"}}`, 400, "sync_lag"},
		{"PATCH drop_rate < 0", "PATCH", "/admin/v1/faults", js, `{"drop_rate":-0.5}`, 400, "drop_rate"},
		{"PATCH spam_block_rate > 1", "PATCH", "/admin/v1/faults", js, `{"spam_block_rate":1.0001}`, 400, "spam_block_rate"},
		{"PATCH validation_window 0s", "PATCH", "/admin/v1/faults", js, `{"validation_window":"0s"}`, 400, "validation_window"},
		{"PATCH sms_delay of -0s", "PATCH", "/admin/v1/faults", js, `{"sms_delay":{"value":"-0s"}}`, 400, `sms_delay.value: must not be negative, got "-0s"`},
		{"PATCH unknown field", "PATCH", "/admin/v1/faults", js, `{"chaos_rate":0.5}`, 400, "chaos_rate"},
		{"PATCH rate as a string", "PATCH", "/admin/v1/faults", js, `{"drop_rate":"1"}`, 400, "drop_rate"},
		{"PATCH range as a number", "PATCH", "/admin/v1/faults", js, `{"sync_lag":5}`, 400, "sync_lag"},
		{"PATCH an array", "PATCH", "/admin/v1/faults", js, `[{"drop_rate":1}]`, 400, "body"},
		{"PATCH a string", "PATCH", "/admin/v1/faults", js, `"drop_rate"`, 400, "body"},
		{"PATCH a number", "PATCH", "/admin/v1/faults", js, `1`, 400, "body"},
		{"PATCH null", "PATCH", "/admin/v1/faults", "application/merge-patch+json", `null`, 400, "body"},

		// gateway messages
		{"message with an empty body", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":""}`, 400, "body"},
		{"message with a blank body", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":" \n\t "}`, 400, "body"},
		{"message without body", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001"}`, 400, "body"},
		{"message body over 1000 characters", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":"` + long1001 + `"}`, 400, "body"},
		{"message body over 1000 CJK characters", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"13800000001","body":"` + cjk1001 + `"}`, 400, "body"},
		{"message from letters", "POST", "/gateway/v1/messages", js, `{"from":"MIIT","to":"13800000001","body":"x"}`, 400, "from"},
		{"message from a plus number", "POST", "/gateway/v1/messages", js, `{"from":"+8612381","to":"13800000001","body":"x"}`, 400, "from"},
		{"message from 22 digits", "POST", "/gateway/v1/messages", js, `{"from":"` + strings.Repeat("1", 22) + `","to":"13800000001","body":"x"}`, 400, "from"},
		{"message without from", "POST", "/gateway/v1/messages", js, `{"to":"13800000001","body":"x"}`, 400, "from"},
		{"message to a bad number", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"23800000001","body":"x"}`, 400, "to"},
		{"message to a short number", "POST", "/gateway/v1/messages", js, `{"from":"95187","to":"12345","body":"x"}`, 400, "to"},
		{"message without to", "POST", "/gateway/v1/messages", js, `{"from":"95187","body":"x"}`, 400, "to"},

		// phones
		{"profile with a bad service", "PUT", "/phones/v1/13800000003/profile", js, `{"service":"x"}`, 400, "service"},
		{"profile with an unknown field", "PUT", "/phones/v1/13800000003/profile", js, `{"volume":3}`, 400, "volume"},
		{"profile with reachable yes", "PUT", "/phones/v1/13800000003/profile", js, `{"reachable":"yes"}`, 400, "reachable"},
		{"profile of a bad phone", "PUT", "/phones/v1/12345/profile", js, `{}`, 400, "phone"},
		{"profile with a delay of -0s", "PUT", "/phones/v1/13800000003/profile", js, `{"delay":{"value":"-0s"}}`, 400, `delay.value: must not be negative, got "-0s"`},
		{"bad folder", "GET", "/phones/v1/13800000001/messages?folder=spam", "", "", 400, "folder"},
		{"messages of a bad phone", "GET", "/phones/v1/23800000001/messages", "", "", 400, "phone"},
		{"clear a bad phone", "DELETE", "/phones/v1/12345/messages", js, "", 400, "phone"},
		{"next with a bad timeout", "GET", "/phones/v1/13800000001/messages/next?timeout=6m", "", "", 400, "timeout"},
		{"next with a bad from_miit", "GET", "/phones/v1/13800000001/messages/next?from_miit=yes", "", "", 400, "from_miit"},
		{"next with a bad match", "GET", "/phones/v1/13800000001/messages/next?match=%28", "", "", 400, "match"},
		{"next with a match over 512 characters", "GET", "/phones/v1/13800000001/messages/next?match=" + url.QueryEscape(strings.Repeat("码", 513)), "", "", 400,
			"match: longer than 512 characters"},
		{"next with a match of megabytes once compiled", "GET", "/phones/v1/13800000001/messages/next?match=" + url.QueryEscape(`\pL{1000}`), "", "", 400,
			"match: too large once compiled (1002 instructions, 1318000 runes of classes; at most 2000 and 20000)"},
		{"next with a match of many instructions", "GET", "/phones/v1/13800000001/messages/next?match=" + url.QueryEscape(`(ab){999}`), "", "", 400, "match: too large once compiled"},

		// unknown ids and paths, wrong methods
		{"unknown filing at the provider", "GET", "/provider/v1/filings/f_0123456789abcdef", "", "", 404, "f_0123456789abcdef"},
		{"malformed filing id at the provider", "GET", "/provider/v1/filings/nope", "", "", 404, "nope"},
		{"unknown filing at MIIT", "GET", "/miit/v1/filings/f_0123456789abcdef", "", "", 404, "f_0123456789abcdef"},
		{"malformed filing id at MIIT", "GET", "/miit/v1/filings/m_0123456789abcdef", "", "", 404, "m_0123456789abcdef"},
		{"cancel an unknown filing", "POST", "/provider/v1/filings/f_0123456789abcdef/cancel", js, "", 404, "f_0123456789abcdef"},
		{"cancel an unknown filing with a body", "POST", "/provider/v1/filings/f_fedcba9876543210/cancel", js, `{}`, 404, "f_fedcba9876543210"},
		{"unknown message", "GET", "/gateway/v1/messages/m_0123456789abcdef", "", "", 404, "m_0123456789abcdef"},
		{"malformed message id", "GET", "/gateway/v1/messages/f_0123456789abcdef", "", "", 404, "f_0123456789abcdef"},
		{"unknown path", "GET", "/nope", "", "", 404, "/nope"},
		{"unknown version", "GET", "/provider/v2/filings/f_0123456789abcdef", "", "", 404, "/provider/v2/filings/f_0123456789abcdef"},
		{"unknown phone path", "GET", "/phones/v1/13800000001/calls", "", "", 404, "/phones/v1/13800000001/calls"},
		{"unknown path with a body", "POST", "/provider/v1/orders", js, website(goodLeader, goodAdmin), 404, "/provider/v1/orders"},
		// a path the mux would clean or complete is none of the API's: a 404,
		// never a redirect a client follows, sending a POST again
		{"advance with a //", "POST", "/admin//v1/clock/advance", js, `{"by":"1h"}`, 404, "no endpoint POST /admin//v1/clock/advance; see /openapi.json"},
		{"filing with a ..", "POST", "/provider/v1/x/../filings", js, website(goodLeader, goodAdmin), 404, "no endpoint POST /provider/v1/x/../filings; see /openapi.json"},
		{"messages with a ..", "GET", "/phones/v1/13800000002/../13800000001/messages", "", "", 404, "no endpoint GET /phones/v1/13800000002/../13800000001/messages; see /openapi.json"},
		{"clock with a .", "GET", "/./admin/v1/clock", "", "", 404, "no endpoint GET /./admin/v1/clock; see /openapi.json"},
		{"clock with a // and another method", "DELETE", "/admin//v1/clock", js, "", 404, "no endpoint DELETE /admin//v1/clock; see /openapi.json"},
		{"the dashboard's files without their slash", "GET", "/dashboard", "", "", 404, "no endpoint GET /dashboard; see /openapi.json"},
		{"DELETE the filings", "DELETE", "/provider/v1/filings", "", "", 405, "DELETE"},
		{"DELETE a filing", "DELETE", "/provider/v1/filings/f_0123456789abcdef", "", "", 405, "DELETE"},
		{"GET cancel", "GET", "/provider/v1/filings/f_0123456789abcdef/cancel", "", "", 405, "GET"},
		{"GET validations", "GET", "/miit/v1/validations", "", "", 405, "GET"},
		{"PUT resends", "PUT", "/miit/v1/resends", js, `{}`, 405, "PUT"},
		{"GET messages of the gateway", "GET", "/gateway/v1/messages", "", "", 405, "GET"},
		{"DELETE a message", "DELETE", "/gateway/v1/messages/m_0123456789abcdef", "", "", 405, "DELETE"},
		{"POST a clock", "POST", "/admin/v1/clock", js, `{"scale":2}`, 405, "POST"},
		{"GET advance", "GET", "/admin/v1/clock/advance", "", "", 405, "GET"},
		{"DELETE the faults", "DELETE", "/admin/v1/faults", "", "", 405, "DELETE"},
		{"GET reset", "GET", "/admin/v1/reset", "", "", 405, "GET"},
		{"POST healthz", "POST", "/healthz", "", "", 405, "POST"},
		{"POST messages of a phone", "POST", "/phones/v1/13800000001/messages", js, `{"body":"x"}`, 405, "POST"},
		{"PATCH a profile", "PATCH", "/phones/v1/13800000003/profile", js, `{"spam_filter":false}`, 405, "PATCH"},
	}
	for _, c := range cases {
		resp, b := rawRequest(t, c.method, e.url+c.path, c.ctype, c.body, nil)
		wantProblem(t, c.name+" ("+c.method+" "+c.path+")", resp, b, c.status, c.detail)
		if c.status == http.StatusMethodNotAllowed && resp.StatusCode == c.status && resp.Header.Get("Allow") == "" {
			t.Errorf("%s: a 405 without an Allow header", c.name)
		}
	}

	// The server is still well.
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, b := e.do("GET", p, nil); code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, b)
		}
	}
	// Nothing changed.
	_, faultsAfter := e.do("GET", "/admin/v1/faults", nil)
	if !sameJSON(faultsAfter, faultsBefore) {
		t.Errorf("the fault profile changed:\nbefore %s\nafter  %s", faultsBefore, faultsAfter)
	}
	_, clockAfter := e.do("GET", "/admin/v1/clock", nil)
	if !sameJSON(clockAfter, clockBefore) {
		t.Errorf("the clock changed:\nbefore %s\nafter  %s", clockBefore, clockAfter)
	}
	if now := e.now(); !now.Equal(t0.Add(90 * time.Minute)) {
		t.Errorf("clock reads %v, want %v", now, t0.Add(90*time.Minute))
	}
	if _, b := e.do("GET", "/phones/v1/13800000003/profile", nil); !sameJSON(b, []byte(fullProfile(profile))) {
		t.Errorf("the profile of 13800000003 changed: %s, want %s", b, profile)
	}
	for _, p := range badInputPhones {
		for _, f := range []string{"inbox", "blocked"} {
			if ms := e.folder(p, f); len(ms) != 0 {
				t.Errorf("%s of %s holds %+v, want nothing", f, p, ms)
			}
		}
	}
	if after := storeKeys(t, e); !reflect.DeepEqual(after, keysBefore) {
		t.Errorf("the store's keys changed:\nbefore %v\nafter  %v", keysBefore, after)
	}
	for _, k := range keysBefore {
		if strings.HasPrefix(k, "filing") || strings.HasPrefix(k, "msg:") || strings.HasPrefix(k, "who:") {
			t.Errorf("the store holds %s: a filing or a message was made", k)
		}
	}
}

// sameJSON tells whether a and b are the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// storeKeys lists the keys of the env's namespace, sorted, the prefix cut,
// but for the request journal, which keeps every request, refused or not.
func storeKeys(t testing.TB, e *env) []string {
	t.Helper()
	ks := core.Keyspace{Prefix: e.redis.Prefix, Namespace: core.DefaultNamespace}
	pre := strings.TrimSuffix(ks.Pattern(), "*")
	var out []string
	ctx := context.Background()
	iter := e.rdb.Scan(ctx, 0, ks.Pattern(), 1000).Iterator()
	for iter.Next(ctx) {
		if iter.Val() != ks.Journal() {
			out = append(out, strings.TrimPrefix(iter.Val(), pre))
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A string that is not valid UTF-8, or that escapes half a surrogate pair,
// is a 400 naming its field in every body the API reads, where it was taken
// as U+FFFD; nothing is stored.
func TestBadUTF8IsRefused(t *testing.T) {
	e := newEnv(t)
	keysBefore := storeKeys(t, e)
	const bad = "\xff"
	leader := `{"name":"Li ` + bad + `Lei","phone":"13800000001","certificate_number":"110101199003071234"}`
	for _, c := range []struct {
		method, path, body, detail string
	}{
		{"POST", "/provider/v1/filings", website(leader, goodAdmin), "entity_leader.name: not valid UTF-8"},
		{"POST", "/provider/v1/filings", website(goodLeader, `{"name":"Han \udc00","phone":"13800000002","certificate_number":"11010119920101567X"}`),
			`website_admin.name: not valid UTF-8: \udc00 is half a surrogate pair`},
		{"PATCH", "/provider/v1/filings/f_0123456789abcdef/personnel", `{"entity_leader":{"phone":"1380000000` + bad + `"}}`, "entity_leader.phone: not valid UTF-8"},
		{"POST", "/miit/v1/validations", `{"code":"12345` + bad + `","phone":"13800000001","certificate_last6":"071234"}`, "code: not valid UTF-8"},
		{"POST", "/miit/v1/resends", `{"phone":"13800000001","certificate_last6":"07123` + bad + `"}`, "certificate_last6: not valid UTF-8"},
		{"POST", "/gateway/v1/messages", `{"from":"95187","to":"13800000001","body":"code ` + bad + `"}`, "body: not valid UTF-8"},
		{"PUT", "/phones/v1/13800000001/profile", `{"block_keywords":["ok","sp` + bad + `am"]}`, "block_keywords[1]: not valid UTF-8"},
		{"PUT", "/phones/v1/13800000001/profile", `{"delay":{"value":"1` + bad + `s"}}`, "delay.value: not valid UTF-8"},
		{"PUT", "/phones/v1/13800000001/script", `{"steps":[{"action":"delay","by":"1` + bad + `m"}]}`, "steps[0].by: not valid UTF-8"},
		{"PUT", "/admin/v1/clock", `{"scale":2,"n` + bad + `":1}`, "body: holds a key that is not valid UTF-8"},
		{"POST", "/admin/v1/clock/advance", `{"by":"1h` + bad + `"}`, "by: not valid UTF-8"},
		{"PUT", "/admin/v1/faults", `{"outages":[{"carrier":"x` + bad + `","start":"2026-05-01T00:00:00Z","end":"2026-05-02T00:00:00Z","mode":"hold"}]}`, "outages[0].carrier: not valid UTF-8"},
		{"PATCH", "/admin/v1/faults", `{"sender_delays":{"95187":{"min":"\ud800s"}}}`, `sender_delays.95187.min: not valid UTF-8: \ud800 is half a surrogate pair`},
		{"PUT", "/admin/v1/scenario", `{"name":"day","phones":{"13800000001":{"service":"` + bad + `"}}}`, "phones.13800000001.service: not valid UTF-8"},
		{"POST", "/admin/v1/webhooks", `{"url":"http://127.0.0.1:1/hook","events":["*"],"secret":"s` + bad + `"}`, "secret: not valid UTF-8"},
	} {
		code, b := e.do(c.method, c.path, c.body)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s %s %q: %d %q, want 400 %q", c.method, c.path, c.body, code, p.Detail, c.detail)
		}
	}
	if after := storeKeys(t, e); !reflect.DeepEqual(after, keysBefore) {
		t.Errorf("the store's keys changed:\nbefore %v\nafter  %v", keysBefore, after)
	}
}

// A query parameter given more than once is a 400 naming it, on every
// route: no parameter is a list, and taking the first value acted on what
// the client may not have meant. The refusal comes before anything is
// written (a namespace, an Idempotency-Key's claim), and the journal keeps
// a refused call of the provider, MIIT or phone API.
func TestRepeatedQueryParameterIsRefused(t *testing.T) {
	e := newEnv(t)
	e.call("PUT", "/admin/v1/clock", `{"paused":true}`, 200, nil) // the default namespace is in use
	keysBefore := storeKeys(t, e)
	for _, c := range []struct {
		method, path, body, detail string
	}{
		{"GET", "/provider/v1/filings?status=submitted&status=canceled", "", "status: given 2 times in the query; give one"},
		{"GET", "/miit/v1/filings?limit=1&limit=2", "", "limit: given 2 times in the query; give one"},
		{"GET", "/phones/v1?q=138&offset=1&offset=1&offset=2", "", "offset: given 3 times in the query; give one"},
		{"GET", "/admin/v1/schedule?kind=miit.sync&kind=bogus", "", "kind: given 2 times in the query; give one"},
		{"GET", "/phones/v1/13800000001/messages/next?after=start&after=bogus&timeout=1ms", "", "after: given 2 times in the query; give one"},
		{"GET", "/admin/v1/requests?format=json&format=jsonl", "", "format: given 2 times in the query; give one"},
		{"GET", "/admin/v1/events?after=1&after=2", "", "after: given 2 times in the query; give one"},
		{"POST", "/admin/v1/clock/advance?x=1&x=2", `{"by":"1h"}`, "x: given 2 times in the query; give one"},
		{"PUT", "/phones/v1/13800000001/profile?a=&a=", `{"service":"suspended"}`, "a: given 2 times in the query; give one"},
	} {
		code, b := e.do(c.method, c.path, c.body)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s %s: %d %q, want 400 %q", c.method, c.path, code, p.Detail, c.detail)
		}
	}
	if after := storeKeys(t, e); !reflect.DeepEqual(after, keysBefore) {
		t.Errorf("the store's keys changed:\nbefore %v\nafter  %v", keysBefore, after)
	}

	// the refusal claimed no key: the request sent right with it is done
	key := http.Header{"Idempotency-Key": {"k-1"}}
	resp, b := rawRequest(t, "POST", e.url+"/admin/v1/clock/advance?x=1&x=2", "application/json", `{"by":"1h"}`, key)
	wantProblem(t, "advance with x twice", resp, b, 400, "x: given 2 times in the query; give one")
	resp, b = rawRequest(t, "POST", e.url+"/admin/v1/clock/advance?x=1", "application/json", `{"by":"1h"}`, key)
	if resp.StatusCode != 200 {
		t.Errorf("the advance with the key, sent right: %d %s, want 200", resp.StatusCode, b)
	}

	// the journal keeps the refused call
	got := e.requests("?route=" + url.QueryEscape("GET /provider/v1/filings"))
	if len(got) != 1 || got[0].Status != 400 || got[0].Query != "status=submitted&status=canceled" ||
		!strings.Contains(string(got[0].Answer), "status: given 2 times in the query; give one") {
		t.Errorf("the journal of GET /provider/v1/filings: %+v, want the refusal", got)
	}
}

// A query parameter given empty is a 400 naming it where the document
// allows no empty value (a number, a status, a folder, a duration, a
// boolean, a format, a number of a phone); it was taken as absent. The
// schedule's filters, documented "Empty counts as absent", stay so.
func TestEmptyQueryParameterIsRefused(t *testing.T) {
	e := newEnv(t)
	const phone = "/phones/v1/13800000001"
	for _, c := range []struct{ path, detail string }{
		{"/provider/v1/filings?limit=", `limit: must be a whole number from 1 to 1000, got ""`},
		{"/miit/v1/filings?offset=", `offset: must be a whole number from 0 to 1073741824, got ""`},
		{"/phones/v1?limit=", `limit: must be a whole number from 1 to 1000, got ""`},
		{"/admin/v1/events?limit=", `limit: must be a whole number from 1 to 10000, got ""`},
		{"/admin/v1/dead-jobs?limit=", `limit: must be a whole number from 1 to 1000, got ""`},
		{"/admin/v1/schedule?limit=", `limit: must be a whole number from 1 to 1000, got ""`},
		{"/provider/v1/filings?status=", `status: "" is not one of [submitted pending_validation under_review approved returned rejected canceled]`},
		{"/miit/v1/filings?status=", `status: "" is not one of [unknown pending_validation under_review approved returned rejected canceled]`},
		{phone + "/messages?folder=", `folder: must be "inbox", "blocked", "failed" or "travelling", got ""`},
		{phone + "/messages/next?timeout=", `timeout: must be a duration more than 0 and at most 5m0s, such as "30s"; got ""`},
		{phone + "/messages/next?from_miit=&timeout=1ms", `from_miit: must be true or false, got ""`},
		{phone + "/messages/next?has_code=&timeout=1ms", `has_code: must be true or false, got ""`},
		{"/admin/v1/requests?format=", `format: must be "json" or "jsonl", got ""`},
		{"/admin/v1/requests?phone=", `phone: empty; give a mainland mobile number such as "13800000001", or leave phone out`},
	} {
		code, b := e.do("GET", c.path, nil)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("GET %s: %d %q, want 400 %q", c.path, code, p.Detail, c.detail)
		}
	}
	for _, path := range []string{"/admin/v1/schedule?kind=&order=&phone=", "/admin/v1/events?after=", "/phones/v1?q=",
		phone + "/messages/next?match=&sender=&timeout=1ms", "/admin/v1/requests?route=&order=&since=&until="} {
		if code, b := e.do("GET", path, nil); code != 200 && code != 204 {
			t.Errorf("GET %s: %d %s, want the empty values taken as absent", path, code, b)
		}
	}
}

// A long poll's match is bounded in characters, as the document's
// maxLength counts them: 512 of three bytes each are a match.
func TestMatchIsBoundedInCharacters(t *testing.T) {
	e := newEnv(t)
	path := "/phones/v1/13800000001/messages/next?timeout=1ms&match=" + url.QueryEscape(strings.Repeat("码", 512))
	if code, b := e.do("GET", path, nil); code != 204 {
		t.Errorf("a match of 512 characters, 1536 bytes: %d %s, want 204", code, b)
	}
}

// A refusal says what is wrong with what was sent: the values a field
// takes (0 among them where 0 means something), a number out of range as
// such, a bound that was left out as absent, a null as a null. Nothing is
// stored.
func TestBadInputDetailsAreTrue(t *testing.T) {
	e := newEnv(t)
	keysBefore := storeKeys(t, e)
	for _, c := range []struct{ method, path, body, detail string }{
		{"PATCH", "/admin/v1/faults", `{"throttles":[{"sender":"95187","limit":5,"per":"1m","burst":-1,"mode":"hold"}]}`,
			"throttles[0].burst: must be 1 or more, or 0 for as many as limit, got -1"},
		{"PUT", "/phones/v1/13800000001/script", `{"steps":[{"action":"fail","count":-1}]}`,
			"steps[0].count: must be 1 or more, or 0 for one message, got -1"},
		{"PUT", "/phones/v1/13800000001/profile", `{"inbox_limit":99999999999999999999}`,
			"inbox_limit: 99999999999999999999 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807"},
		{"PUT", "/phones/v1/13800000001/script", `{"steps":[{"action":"fail","count":-9223372036854775809}]}`,
			"steps[0].count: -9223372036854775809 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807"},
		{"PATCH", "/admin/v1/faults", `{"throttles":[{"sender":"95187","limit":9223372036854775808,"per":"1m","mode":"hold"}]}`,
			"throttles[0].limit: 9223372036854775808 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807"},
		{"PUT", "/phones/v1/13800000001/profile", `{"inbox_limit":1.5}`, "inbox_limit: expected a whole number, got a JSON number 1.5"},
		{"PATCH", "/admin/v1/faults", `{"sender_delays":{"12381":{"min":"2m"}}}`, "sender_delays.12381: min (2m) exceeds max (0s, absent)"},
		{"PUT", "/phones/v1/13800000001/profile", `{"block_keywords":["spam",null]}`, "block_keywords[1]: null; give a string, or leave the entry out"},
		{"PUT", "/phones/v1/13800000001/profile", `{"block_senders":[null]}`, "block_senders[0]: null; give a string, or leave the entry out"},
	} {
		code, b := e.do(c.method, c.path, c.body)
		if p := problemOf(t, b); code != 400 || p.Detail != c.detail {
			t.Errorf("%s %s %s: %d %q, want 400 %q", c.method, c.path, c.body, code, p.Detail, c.detail)
		}
	}
	if after := storeKeys(t, e); !reflect.DeepEqual(after, keysBefore) {
		t.Errorf("the store's keys changed:\nbefore %v\nafter  %v", keysBefore, after)
	}
	// the largest whole number is in range through a merge patch too, not
	// rounded past it
	code, b := e.do("PATCH", "/admin/v1/faults", `{"throttles":[{"sender":"95187","limit":5,"burst":9223372036854775807,"per":"1m","mode":"hold"}]}`)
	if code != 200 || !strings.Contains(string(b), `"burst":9223372036854775807`) {
		t.Errorf("a burst of 9223372036854775807: %d %s, want 200 keeping it", code, b)
	}
}
