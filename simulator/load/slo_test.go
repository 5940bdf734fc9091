package load_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"smsim/simulator/load"
	"smsim/simulator/people"
	"smsim/simulator/simtest"
)

// stepping is a clock whose every reading is a second after the one
// before: every latency the driver measures is a second at least.
type stepping struct {
	mu sync.Mutex
	t  time.Time
}

func (s *stepping) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t = s.t.Add(time.Second)
	return s.t
}

// TestSLOJudged judges objectives on runs whose clock makes every latency
// known: a second at least on a stepping clock, nothing on a stopped one.
func TestSLOJudged(t *testing.T) {
	sim := simtest.RunT(t)
	slo := mustSLO(t, "code_p99<50ms,flow_p50>=1s,approved>=100%,errors<0.1%,canceled>0,resend_p99<1s,flows>=4")
	clock := &stepping{t: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	rep := run(t, sim, load.Config{Flows: 4, Concurrency: 2, Types: website, Mix: only(people.Prompt), Scale: 3600,
		SLO: slo, Now: clock.Now})
	if len(rep.SLO) != 7 {
		t.Fatalf("verdicts %+v, want 7", rep.SLO)
	}
	type verdict struct {
		objective string
		met       bool
		unit      string
		note      string
	}
	var got []verdict
	for _, v := range rep.SLO {
		got = append(got, verdict{v.Objective, v.Met, v.Unit, v.Note})
	}
	want := []verdict{
		{"code_p99<50ms", false, "ms", ""},
		{"flow_p50>=1s", true, "ms", ""},
		{"approved>=100%", true, "%", ""},
		{"errors<0.1%", true, "%", ""},
		{"canceled>0", false, "flows", ""},
		{"resend_p99<1s", false, "ms", "no samples"},
		{"flows>=4", true, "flows", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("verdicts\n%+v\nwant\n%+v", got, want)
	}
	if code := rep.SLO[0]; code.Value < 1000 {
		t.Fatalf("code_p99 %v ms on a clock that steps a second a reading", code.Value)
	}
	if v := rep.SLO[2]; v.Value != 100 || v.Shown() != "100%" {
		t.Fatalf("approved %v (%s), want 100%%", v.Value, v.Shown())
	}
	if rep.SLOMet {
		t.Fatal("slo_met with three objectives breached")
	}
	var breached []string
	for _, v := range rep.Breached() {
		breached = append(breached, v.Objective)
	}
	if !reflect.DeepEqual(breached, []string{"code_p99<50ms", "canceled>0", "resend_p99<1s"}) {
		t.Fatalf("breached %v", breached)
	}

	stopped := func() time.Time { return clock.t }
	rep = run(t, sim, load.Config{Flows: 2, Types: website, Mix: only(people.Prompt), Scale: 3600,
		SLO: mustSLO(t, "code_p99<50ms,submit_max<=0s"), Now: stopped})
	if !rep.SLOMet || rep.SLO[0].Value != 0 || rep.SLO[0].Shown() != "0.000ms" {
		t.Fatalf("on a stopped clock: %+v, want every latency 0 and both objectives met", rep.SLO)
	}
}
