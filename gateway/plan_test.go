package gateway

import (
	"reflect"
	"testing"
	"time"

	"smsim/simulator/core"
)

// PlanCandidates plans each body as Plan plans it, the message's keys at
// the same places of the script's KEYS: with a profile
// that reads no body, by copying the first plan; with one that blocks a
// keyword found in one body only, by planning each, which then differ.
func TestPlanCandidatesPlansEachBodyAsPlanDoes(t *testing.T) {
	g := &Gateway{ks: core.Keyspace{Prefix: "t", Namespace: core.DefaultNamespace}, rand: core.NewSeededSource(7)}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	f := core.DefaultFaults()
	f.SMSDelay = core.Fixed(0)
	f.DuplicateRate = 1 // each body is sent twice
	bodies := []string{"Your code is 111111.", "Your code is 222222.", "Your code is 333333."}
	for _, c := range []struct {
		name    string
		profile string
		alike   bool
	}{
		{"default profile", "", true},
		{"keyword in the second body", `{"block_keywords":["222222"]}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			const phone = "13700000001"
			g.phones.set(phone, phoneState{raw: c.profile})
			r := SendRequest{ID: "m_0000000000000001", From: "12381", To: phone, At: at}
			plans, alike, ok := g.PlanCandidates(f, r, bodies, core.NewKeyList())
			if !ok || alike != c.alike || len(plans) != len(bodies) {
				t.Fatalf("%d plans, alike %v, ok %v; want %d, %v, true", len(plans), alike, ok, len(bodies), c.alike)
			}
			keys := core.NewKeyList() // one script's, as PlanCandidates's
			for i, body := range bodies {
				r.Body = body
				want, ok := g.Plan(f, r, keys)
				if !ok || !reflect.DeepEqual(plans[i], want) {
					t.Errorf("body %d planned\n%+v\nPlan plans it\n%+v", i+1, plans[i], want)
				}
			}
			blocked := plans[1][0].Deliver.Status == StatusBlocked
			if blocked == c.alike {
				t.Errorf("the second body's message: %s, blocked %v; want blocked %v", plans[1][0].Deliver.Status, blocked, !c.alike)
			}
		})
	}
}
