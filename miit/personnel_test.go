package miit_test

import (
	"fmt"
	"testing"
	"time"

	"smsim/miit"
)

// The FAQ's reference table, row by row: who gets a notice, who gets a
// code, whose validation completes the order.
func TestWhoMustValidate(t *testing.T) {
	for _, row := range []struct {
		typ, variant string
		required     []string
	}{
		{"first_filing", "website", []string{"entity_leader", "website_admin"}},
		{"first_filing", "website_and_app", []string{"entity_leader"}},
		{"first_filing", "app", []string{"entity_leader"}},
		{"add_service", "website", []string{"entity_leader", "website_admin"}},
		{"add_service", "website_and_app", []string{"entity_leader"}},
		{"add_service", "app", []string{"entity_leader"}},
		{"add_provider", "", []string{"entity_leader", "website_admin"}},
		{"modify", "entity", []string{"entity_leader"}},
		{"modify", "service", []string{"website_admin"}},
		{"modify", "entity_and_service", []string{"entity_leader", "website_admin"}},
		{"cancel", "entity", []string{"entity_leader"}},
		{"cancel", "website", []string{"website_admin"}},
		{"cancel", "app", []string{"website_admin"}},
		{"remove_provider", "", []string{}},
	} {
		t.Run(row.typ+"/"+row.variant, func(t *testing.T) {
			got, err := miit.Required(row.typ, row.variant)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(row.required) {
				t.Fatalf("Required(%q, %q) = %v, %v; want %v", row.typ, row.variant, got, err, row.required)
			}

			w := newWorld(t)
			w.lags(30*time.Minute, time.Minute)
			phone := map[string]string{"entity_leader": "13900000001", "website_admin": "13900000002"}
			cert := map[string]string{"entity_leader": leaderCert, "website_admin": adminCert}
			required := map[string]bool{}
			for _, r := range row.required {
				required[r] = true
			}
			v := w.submit(miit.SubmitRequest{Type: row.typ, Variant: row.variant,
				EntityLeader: leader(phone["entity_leader"]), WebsiteAdmin: admin(phone["website_admin"])})
			var roles []string
			for _, p := range v.Personnel {
				roles = append(roles, p.Role)
			}
			if v.Status != "submitted" || fmt.Sprint(v.Required) != fmt.Sprint(row.required) || fmt.Sprint(roles) != fmt.Sprint(row.required) ||
				v.Type != row.typ || v.Variant != row.variant {
				t.Fatalf("submitted %+v, want status submitted, required and personnel %v", v, row.required)
			}
			for role, p := range phone {
				msgs := w.inbox(p)
				if required[role] != (len(msgs) == 1) || (len(msgs) == 1 && msgs[0].Sender != "95187") {
					t.Errorf("%s (required: %v) got %+v at submission, want one notice from 95187 if required, else nothing", role, required[role], msgs)
				}
			}

			w.advance(30 * time.Minute)
			mv := w.miitView(v.ID)
			if len(row.required) == 0 {
				if mv.Status != "under_review" || len(mv.Personnel) != 0 || mv.CodesSentAt != nil || mv.Deadline != nil {
					t.Fatalf("MIIT view %+v, want under_review at once, no one, no codes", mv)
				}
				for _, p := range phone {
					if n := len(w.inbox(p)); n != 0 {
						t.Errorf("%s got %d messages from an order that needs no one", p, n)
					}
				}
				return
			}
			roles = roles[:0]
			for _, p := range mv.Personnel {
				roles = append(roles, p.Role)
			}
			if mv.Status != "pending_validation" || fmt.Sprint(roles) != fmt.Sprint(row.required) {
				t.Fatalf("MIIT view %+v, want pending_validation listing %v", mv, row.required)
			}
			for role, p := range phone {
				if n := len(w.codes(p)); required[role] != (n == 1) {
					t.Errorf("%s (required: %v) got %d codes", role, required[role], n)
				}
			}
			for role, p := range phone {
				if !required[role] { // given, not required: matches nothing
					wantValidation(t, w.validate(w.code(phone[row.required[0]]), p, cert[role]), "not_found", false)
					wantResend(t, w.resend(p, cert[role]), "not_found")
				}
			}
			for i, role := range row.required {
				want := "partial"
				if i == len(row.required)-1 {
					want = "complete"
				}
				wantValidation(t, w.validate(w.code(phone[role]), phone[role], cert[role]), want, false)
			}
			if st := w.miitView(v.ID).Status; st != "under_review" {
				t.Fatalf("MIIT status %s once every required person validated, want under_review", st)
			}
		})
	}
}

func TestRequiredRefusesUnknownTypesAndVariants(t *testing.T) {
	for _, c := range []struct {
		typ, variant, detail string
	}{
		{"nope", "", `type: must be one of add_provider, add_service, cancel, first_filing, modify, remove_provider, got "nope"`},
		{"", "", `type: must be one of add_provider, add_service, cancel, first_filing, modify, remove_provider, got ""`},
		{"first_filing", "", "variant: missing; type first_filing takes one of app, website, website_and_app"},
		{"first_filing", "entity", `variant: type first_filing takes one of app, website, website_and_app, got "entity"`},
		{"add_service", "service", `variant: type add_service takes one of app, website, website_and_app, got "service"`},
		{"modify", "", "variant: missing; type modify takes one of entity, entity_and_service, service"},
		{"cancel", "service", `variant: type cancel takes one of app, entity, website, got "service"`},
		{"add_provider", "website", `variant: type add_provider takes no variant, got "website"`},
		{"remove_provider", "app", `variant: type remove_provider takes no variant, got "app"`},
	} {
		t.Run(c.typ+"/"+c.variant, func(t *testing.T) {
			got, err := miit.Required(c.typ, c.variant)
			if got != nil {
				t.Errorf("Required answered %v with its error", got)
			}
			wantError(t, err, 400, c.detail)
		})
	}
}

// Required answers a list of the caller's own: changing it changes
// nothing for the next order.
func TestRequiredAnswersACopy(t *testing.T) {
	got, err := miit.Required("first_filing", "website")
	if err != nil {
		t.Fatal(err)
	}
	got[0], got[1] = "x", "y"
	if again, _ := miit.Required("first_filing", "website"); fmt.Sprint(again) != "[entity_leader website_admin]" {
		t.Fatalf("after the caller changed its answer Required says %v", again)
	}
}
