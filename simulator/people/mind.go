package people

import (
	"strconv"
	"time"

	"smsim/simulator/client"
)

// Action is what a person does about the code texted to them.
type Action string

// The actions.
const (
	ActValidate Action = "validate" // types the code on MIIT's validation page
	ActResend   Action = "resend"   // asks MIIT to text the code again
)

// MaxRetries is how many times a person tries again after a validation
// that came to nothing: a typo noticed, MIIT not ready or glitching.
const MaxRetries = 3

// Draw draws a duration in [min, max] for one person; parts name the draw
// ("read", "1"), so that a seeded source draws it the same in every run.
type Draw func(min, max time.Duration, parts ...string) time.Duration

// Mind is how one person deals with the codes texted to them, by their
// personality: told of each code that reaches their inbox and of each of
// MIIT's answers, it plans what they do next and at which simulated time.
// It does not act itself: whoever plays the person — a Crowd, or the load
// driver of simulator/load — calls MIIT when the plan falls due and tells
// the Mind the answer. A Mind is for one goroutine at a time.
type Mind struct {
	personality Personality
	code        string    // the newest code in the inbox
	codes       int       // codes received
	next        Action    // what the person does next; "": nothing planned
	at          time.Time // when, in simulated time
	typoed      bool      // made the typo already
	resent      bool      // asked for a new code already
	retries     int       // attempts that came to nothing
	done        bool
}

// NewMind returns the mind of a person of personality p who has no code
// yet. A person who never validates is done from the start.
func NewMind(p Personality) *Mind { return &Mind{personality: p, done: p == Never} }

// Personality is the person's personality.
func (m *Mind) Personality() Personality { return m.personality }

// Done tells whether the person has nothing more to do: validated, gave
// up, never meant to, or their order ended.
func (m *Mind) Done() bool { return m.done }

// End tells the mind the order ended: the person does nothing more.
func (m *Mind) End() { m.done = true }

// Plan answers the action planned and the simulated time it falls due;
// false when nothing is planned.
func (m *Mind) Plan() (Action, time.Time, bool) {
	return m.next, m.at, m.next != "" && !m.done
}

// Code tells the mind that code reached the inbox at simulated time at.
// Unless something is planned already, the person plans to act on it: a
// resender asks for a new code first, then uses the new one; the others
// validate after their personality's delay. It answers whether it planned
// something.
func (m *Mind) Code(code string, at time.Time, draw Draw) bool {
	if m.done {
		return false
	}
	m.code = code
	m.codes++
	if m.next != "" {
		return false
	}
	switch {
	case m.personality == Resender && !m.resent:
		m.plan(ActResend, at.Add(between(draw, delays[Resender], "resend-wait")))
	case m.personality == Resender:
		m.plan(ActValidate, at.Add(between(draw, delays[Prompt], "read", strconv.Itoa(m.codes))))
	default:
		m.plan(ActValidate, at.Add(between(draw, delays[m.personality], "read", strconv.Itoa(m.codes))))
	}
	return true
}

// Take takes the planned action off the plan, for the caller to carry out
// now; false when nothing is planned or the person is done.
func (m *Mind) Take() (Action, bool) {
	a, _, ok := m.Plan()
	m.next, m.at = "", time.Time{}
	return a, ok
}

// Again puts back an action that could not be carried out (the server was
// away), due at simulated time at.
func (m *Mind) Again(a Action, at time.Time) { m.plan(a, at) }

// Typed answers the code as the person types it: the newest code, except
// that a Typo mistypes one digit the first time; r draws which and how.
func (m *Mind) Typed(r func() uint64) string {
	if m.personality == Typo && !m.typoed {
		m.typoed = true
		return typo(m.code, r())
	}
	return m.code
}

// Resent tells the mind MIIT's answer to the person's resend request: the
// new code comes as a Code; any answer but resent leaves nothing to hope
// for.
func (m *Mind) Resent(result string) {
	m.resent = true
	if result != client.ResultResent {
		m.done = true
	}
}

// Validated tells the mind MIIT's answer to the person's validation, at
// simulated time now. A success, or the failure that rejected the order,
// ends the person's part; another answer (a typo noticed, MIIT not ready
// or glitching) makes them try again a few minutes later, up to
// MaxRetries times. It answers whether it planned a retry.
func (m *Mind) Validated(result string, rejected bool, now time.Time, draw Draw) bool {
	switch {
	case result == client.ResultComplete || result == client.ResultPartial || rejected:
		m.done = true
	case m.retries < MaxRetries:
		m.retries++
		m.plan(ActValidate, now.Add(between(draw, retryDelay, "retry", strconv.Itoa(m.retries))))
		return true
	default:
		m.done = true
	}
	return false
}

func (m *Mind) plan(a Action, at time.Time) { m.next, m.at = a, at }

func between(draw Draw, d [2]time.Duration, parts ...string) time.Duration {
	return draw(d[0], d[1], parts...)
}
