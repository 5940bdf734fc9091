package people_test

import (
	"testing"
	"time"

	"smsim/simulator/client"
	"smsim/simulator/people"
)

// least draws the least of every range, so that the plans are exact.
func least(min, _ time.Duration, _ ...string) time.Duration { return min }

func zero() uint64 { return 0 }

// TestMindPlans follows one person of each personality from their first
// code to the end of their part, each answer of MIIT as given.
func TestMindPlans(t *testing.T) {
	at := t0.Add(10 * time.Minute)
	type step struct {
		code   string        // a code arrives at the plan's time (or at, first)
		act    people.Action // the action planned, taken and answered
		after  time.Duration // how long after the code (or the answer before) it falls due
		typed  string        // the code typed, for a validation
		answer string        // MIIT's result word
	}
	for _, c := range []struct {
		name  string
		p     people.Personality
		steps []step
	}{
		{"prompt", people.Prompt, []step{{code: "123456", act: people.ActValidate, after: 20 * time.Second, typed: "123456", answer: client.ResultComplete}}},
		{"slow", people.Slow, []step{{code: "123456", act: people.ActValidate, after: time.Hour, typed: "123456", answer: client.ResultPartial}}},
		{"typo", people.Typo, []step{
			{code: "123456", act: people.ActValidate, after: 30 * time.Second, typed: "223456", answer: client.ResultFailed},
			{act: people.ActValidate, after: time.Minute, typed: "123456", answer: client.ResultComplete},
		}},
		{"resender", people.Resender, []step{
			{code: "123456", act: people.ActResend, after: 20 * time.Minute, answer: client.ResultResent},
			{code: "654321", act: people.ActValidate, after: 20 * time.Second, typed: "654321", answer: client.ResultComplete},
		}},
		{"prompt, MIIT glitching", people.Prompt, []step{ // three more tries, a minute apart, then they give up
			{code: "123456", act: people.ActValidate, after: 20 * time.Second, typed: "123456", answer: client.ResultNotFound},
			{act: people.ActValidate, after: time.Minute, typed: "123456", answer: client.ResultNotFound},
			{act: people.ActValidate, after: time.Minute, typed: "123456", answer: client.ResultNotFound},
			{act: people.ActValidate, after: time.Minute, typed: "123456", answer: client.ResultNotFound},
		}},
		{"resender, no resends left", people.Resender, []step{{code: "123456", act: people.ActResend, after: 20 * time.Minute, answer: client.ResultLimitReached}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := people.NewMind(c.p)
			now := at
			for i, s := range c.steps {
				if s.code != "" && !m.Code(s.code, now, least) {
					t.Fatalf("step %d: the code %s planned nothing", i, s.code)
				}
				a, due, ok := m.Plan()
				if !ok || a != s.act || !due.Equal(now.Add(s.after)) {
					t.Fatalf("step %d: plan %s at %s (%v), want %s at %s", i, a, due, ok, s.act, now.Add(s.after))
				}
				if a, ok := m.Take(); !ok || a != s.act {
					t.Fatalf("step %d: took %s (%v), want %s", i, a, ok, s.act)
				}
				if _, _, ok := m.Plan(); ok {
					t.Fatalf("step %d: a plan is left after Take", i)
				}
				now = due
				if s.act == people.ActResend {
					m.Resent(s.answer)
					continue
				}
				if got := m.Typed(zero); got != s.typed {
					t.Fatalf("step %d: typed %s, want %s", i, got, s.typed)
				}
				retry := m.Validated(s.answer, false, now, least)
				if want := i < len(c.steps)-1; retry != want {
					t.Fatalf("step %d: after %s a retry is planned: %v, want %v", i, s.answer, retry, want)
				}
			}
			if !m.Done() {
				t.Fatal("not done after the last step")
			}
			if m.Code("111111", now, least) {
				t.Fatal("a person who is done planned to act on a new code")
			}
		})
	}
}

// A person who never validates is done from the start; a code while
// something is planned changes the code typed, not the plan; an order that
// ends leaves nothing to take.
func TestMindNeverNewCodeAndEnd(t *testing.T) {
	if m := people.NewMind(people.Never); !m.Done() || m.Code("123456", t0, least) {
		t.Fatal("a person who never validates plans to")
	}
	m := people.NewMind(people.Prompt)
	m.Code("123456", t0, least)
	if m.Code("654321", t0.Add(time.Second), least) {
		t.Fatal("a second code made a second plan")
	}
	if _, due, _ := m.Plan(); !due.Equal(t0.Add(20 * time.Second)) {
		t.Fatalf("plan due %s, want the first code's", due)
	}
	a, _ := m.Take()
	if got := m.Typed(zero); got != "654321" {
		t.Fatalf("typed %s, want the newest code", got)
	}
	m.Again(a, t0.Add(time.Minute))
	m.End()
	if _, ok := m.Take(); ok || !m.Done() {
		t.Fatal("something to do after the order ended")
	}
}
