package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoMessage is the error of a helper that found no message, or waited
// for one in vain: errors.Is(err, ErrNoMessage).
var ErrNoMessage = errors.New("no such message")

// WaitForCode answers the first code MIIT texted to phone: the first
// message from MIIT with a code in its inbox, at once when it is there,
// else as soon as it is delivered. It cannot miss a code delivered before
// the call (it reads from the inbox's start), which makes it right for the
// first code of a phone: submit, advance, WaitForCode.
//
// A phone sent more than one code (a resend, a second order) has the
// first one first: wait for the next with WaitForCodeAfter, giving the
// message of the code before, or read the newest with LatestCode.
//
// It waits until ctx ends or, when ctx has no deadline, for the client's
// wait (DefaultWait); in vain, the error is ErrNoMessage. On a paused
// clock nothing arrives by itself: Advance past the sync lag first. When
// the clock is paused and nothing is on its way to the phone, it answers
// at once, without waiting: the error is then ErrNothingOnItsWay (and
// ErrNoMessage).
func (c *Client) WaitForCode(ctx context.Context, phone string) (string, error) {
	m, err := c.WaitForCodeAfter(ctx, phone, AfterStart)
	return m.Code, err
}

// WaitForCodeAfter answers the first message from MIIT with a code
// delivered to phone's inbox after the message with id after; AfterStart:
// the first of the inbox; empty: the first delivered after the call. The
// answer's ID is the after of the next call, so that a test walks the
// codes one by one without missing one:
//
//	first, _ := c.WaitForCodeAfter(ctx, phone, client.AfterStart)
//	c.ResendPerson(ctx, person)
//	second, _ := c.WaitForCodeAfter(ctx, phone, first.ID)
//
// It waits as WaitForCode does.
func (c *Client) WaitForCodeAfter(ctx context.Context, phone, after string) (Message, error) {
	return c.WaitForMessage(ctx, phone, NextOptions{After: after, FromMIIT: true, HasCode: true})
}

// WaitForMessage answers the first inbox message of phone that passes o,
// waiting for it as WaitForCode does: it long-polls again and again, each
// poll from where the last one stopped, until one comes or the wait is
// over. o.Timeout is ignored; an empty o.After is the moment of the call.
func (c *Client) WaitForMessage(ctx context.Context, phone string, o NextOptions) (Message, error) {
	ctx, cancel := c.waitContext(ctx)
	defer cancel()
	if o.After == "" { // pin "now", so that no delivery between two polls is missed
		cur, err := c.Cursor(ctx, phone)
		if err != nil {
			return Message{}, c.waitErr(ctx, phone, err)
		}
		o.After = cur
	}
	o.Timeout = maxNextTimeout // Next shortens it to ctx's deadline
	for {
		m, ok, err := c.Next(ctx, phone, o)
		if errors.Is(err, ErrNothingOnItsWay) {
			return Message{}, fmt.Errorf("smsim: waiting for a message to %s: %w: %w (%s)", phone, ErrNoMessage, ErrNothingOnItsWay, c.why(ctx, phone, false))
		}
		if err != nil {
			return Message{}, c.waitErr(ctx, phone, err)
		}
		if ok {
			return m, nil
		}
		if ctx.Err() != nil {
			return Message{}, c.waitErr(ctx, phone, ctx.Err())
		}
	}
}

// waitContext bounds ctx by the client's wait when it has no deadline.
func (c *Client) waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.wait)
}

func (c *Client) waitErr(ctx context.Context, phone string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("smsim: waiting for a message to %s: %w: none came in time (%s): %w", phone, ErrNoMessage, c.why(ctx, phone, true), ctx.Err())
}

// why says, as well as the server can tell within a couple of seconds, why
// no message came to phone: where the clock stands, what is scheduled next
// (for the phone, else in the namespace), what the phone's other folders
// hold; and, when advancing may bring it (not when nothing is on its way),
// to advance the clock.
func (c *Client) why(ctx context.Context, phone string, mayCome bool) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	st, err := c.Clock(ctx)
	if err != nil {
		return "the clock could not be read: " + err.Error()
	}
	var parts []string
	if st.Paused {
		parts = append(parts, "the clock is paused at "+st.Now.Format(time.RFC3339Nano))
	} else {
		parts = append(parts, fmt.Sprintf("the clock runs at %v×, at %s", st.Scale, st.Now.Format(time.RFC3339Nano)))
	}
	job := func(j ScheduledJob) string { return describeJob(j, st.Now) }
	mine, err1 := c.Schedule(ctx, JobFilter{Phone: phone}, 1)
	all, err2 := c.Schedule(ctx, JobFilter{}, 1)
	if err1 == nil && err2 == nil {
		switch {
		case len(all.Scheduled) == 0:
			parts = append(parts, "nothing is scheduled")
		case len(mine.Scheduled) == 0:
			parts = append(parts, "next in the namespace: "+job(all.Scheduled[0]))
		default:
			parts = append(parts, "next for "+phone+": "+job(mine.Scheduled[0]))
			if first := all.Scheduled[0]; first.Due.Before(mine.Scheduled[0].Due) {
				parts = append(parts, "before it in the namespace: "+job(first))
			}
		}
		if mayCome && st.Paused && len(all.Scheduled) > 0 {
			parts = append(parts, "advance the clock to bring them (Advance, AdvanceTo, AdvanceNext)")
		}
	}
	for _, folder := range []string{FolderBlocked, FolderFailed} {
		if ms, err := c.Messages(ctx, phone, folder); err == nil && len(ms) > 0 {
			parts = append(parts, fmt.Sprintf("%d in its %s folder (Messages(ctx, phone, client.%s))", len(ms), folder, map[string]string{FolderBlocked: "FolderBlocked", FolderFailed: "FolderFailed"}[folder]))
		}
	}
	return strings.Join(parts, "; ")
}

// LatestCode answers the newest message from MIIT with a code in phone's
// inbox, without waiting; ErrNoMessage when there is none. After a resend,
// it is the resent code once that has arrived.
func (c *Client) LatestCode(ctx context.Context, phone string) (Message, error) {
	ms, err := c.Messages(ctx, phone, FolderInbox)
	if err != nil {
		return Message{}, err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Code != "" && IsMIITSender(ms[i].Sender) {
			return ms[i], nil
		}
	}
	return Message{}, fmt.Errorf("smsim: no code from MIIT in the inbox of %s: %w", phone, ErrNoMessage)
}

// Cursor answers the id of the newest message in phone's inbox, or
// AfterStart when it is empty: given as the after of WaitForCodeAfter or
// Next, it asks for what arrives from now on, whatever comes in between.
//
//	cur, _ := c.Cursor(ctx, phone)
//	c.ResendPerson(ctx, person)
//	next, _ := c.WaitForCodeAfter(ctx, phone, cur)
func (c *Client) Cursor(ctx context.Context, phone string) (string, error) {
	ms, err := c.Messages(ctx, phone, FolderInbox)
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return AfterStart, nil
	}
	return ms[len(ms)-1].ID, nil
}

// describeJob says what j is and when it falls due, seen from the
// simulated time now: "miit.sync of f_… at 2026-05-01T00:45:00Z, 45m0s on",
// or "…, due now" when it is due already (on a running clock, the loop's
// next look carries it out).
func describeJob(j ScheduledJob, now time.Time) string {
	of := ""
	if j.Order != "" {
		of = " of " + j.Order
	}
	when := "due now"
	if d := j.Due.Sub(now); d > 0 {
		when = d.String() + " on"
	}
	return fmt.Sprintf("%s%s at %s, %s", j.Kind, of, j.Due.Format(time.RFC3339Nano), when)
}
