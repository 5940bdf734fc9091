package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ErrNothingOnItsWay is the answer of a wait for a message when none is
// there and none can come by itself: the namespace's clock is paused and
// no message to the phone is on its way (FolderTravelling is empty, no
// order of the phone is still to reach MIIT, and MIIT holds back no code
// for it nor will send one again at noon). Only a new message could bring
// one: a test proves at once, without waiting in real time, that a
// phone got nothing. The error is also ErrNoMessage, Next's as a waiting
// helper's.
var ErrNothingOnItsWay = errors.New("nothing is on its way and the clock is paused")

// The header of a long poll's 204 that says why nothing came.
const (
	waitHeader          = "X-Smsim-Wait"
	waitNothingOnItsWay = "nothing_on_its_way"
)

// AfterStart, as NextOptions.After, asks for messages from the start of
// the inbox: one delivered before the call is not missed.
const AfterStart = "start"

// Messages lists a phone's folder in delivery order (GET
// /phones/v1/{phone}/messages): FolderInbox (also for "") or
// FolderBlocked, what the spam filter kept out. A message as a
// phone shows it has no status, reason or trail: Message answers those.
//
// FolderFailed lists the messages to the phone that failed, in the order
// their failures were decided, and FolderTravelling those the gateway
// still holds, in the order they were sent: these have their Status,
// Reason and Trail, as Message shows them.
func (c *Client) Messages(ctx context.Context, phone, folder string) ([]Message, error) {
	var q url.Values
	if folder != "" {
		q = url.Values{"folder": {folder}}
	}
	var out struct {
		Messages []Message `json:"messages"`
	}
	_, err := c.do(ctx, request{method: "GET", path: phonePath(phone, "/messages"), query: q}, &out)
	return out.Messages, err
}

// ClearMessages empties both folders of a phone (DELETE
// /phones/v1/{phone}/messages).
func (c *Client) ClearMessages(ctx context.Context, phone string) error {
	_, err := c.do(ctx, request{method: "DELETE", path: phonePath(phone, "/messages")}, nil)
	return err
}

// NextOptions select the message Next waits for. The zero value takes the
// first message delivered to the inbox after the call.
type NextOptions struct {
	// After is a message id of the inbox: the first message delivered
	// after it. AfterStart: the inbox's first, at once if it is there.
	// Empty: the first delivered after the call.
	After    string
	Sender   string // only messages from this sender
	FromMIIT bool   // only messages from MIIT's senders (12381, 106…12381)
	HasCode  bool   // only messages with a six-digit code
	Match    string // only messages whose body this regular expression matches
	// Timeout is how long, in real time, the server waits for one (at most
	// five minutes; 0: its default, 30 seconds). A shorter deadline of the
	// context shortens it.
	Timeout time.Duration
}

// maxNextTimeout is the longest wait the server takes.
const maxNextTimeout = 5 * time.Minute

// Next long-polls for the first inbox message of phone that passes o (GET
// /phones/v1/{phone}/messages/next). It answers false when none came
// before the timeout, and ErrNothingOnItsWay at once when none is there
// and none can come: the clock is paused and no message to the phone is on
// its way.
func (c *Client) Next(ctx context.Context, phone string, o NextOptions) (Message, bool, error) {
	q := url.Values{}
	if o.After != "" {
		q.Set("after", o.After)
	}
	if o.Sender != "" {
		q.Set("sender", o.Sender)
	}
	if o.FromMIIT {
		q.Set("from_miit", "true")
	}
	if o.HasCode {
		q.Set("has_code", "true")
	}
	if o.Match != "" {
		q.Set("match", o.Match)
	}
	timeout := o.Timeout
	if dl, ok := ctx.Deadline(); ok {
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		if left := time.Until(dl).Truncate(time.Millisecond); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	if timeout != 0 {
		q.Set("timeout", timeout.String())
	}
	var m Message
	var h http.Header
	status, err := c.do(ctx, request{method: "GET", path: phonePath(phone, "/messages/next"), query: q, answer: &h}, &m)
	if err != nil {
		return Message{}, false, err
	}
	if status == http.StatusNoContent && h.Get(waitHeader) == waitNothingOnItsWay {
		return Message{}, false, fmt.Errorf("smsim: no message to %s: %w (%w)", phone, ErrNothingOnItsWay, ErrNoMessage)
	}
	return m, status != http.StatusNoContent, nil
}

// Profile reads a phone's own faults (GET /phones/v1/{phone}/profile): the
// profile set for it, a magic number's, or the default.
func (c *Client) Profile(ctx context.Context, phone string) (PhoneProfile, error) {
	var p PhoneProfile
	_, err := c.do(ctx, request{method: "GET", path: phonePath(phone, "/profile")}, &p)
	return p, err
}

// SetProfile replaces a phone's profile (PUT /phones/v1/{phone}/profile);
// start from DefaultPhoneProfile() and change what the test needs.
func (c *Client) SetProfile(ctx context.Context, phone string, p PhoneProfile) (PhoneProfile, error) {
	var out PhoneProfile
	_, err := c.do(ctx, request{method: "PUT", path: phonePath(phone, "/profile"), body: p}, &out)
	return out, err
}

// Script reads what is left of a phone's fault script (GET
// /phones/v1/{phone}/script).
func (c *Client) Script(ctx context.Context, phone string) (Script, error) {
	var s Script
	_, err := c.do(ctx, request{method: "GET", path: phonePath(phone, "/script")}, &s)
	return s, err
}

// SetScript replaces a phone's fault script (PUT
// /phones/v1/{phone}/script): its next messages work through the steps.
func (c *Client) SetScript(ctx context.Context, phone string, s Script) (Script, error) {
	var out Script
	_, err := c.do(ctx, request{method: "PUT", path: phonePath(phone, "/script"), body: s}, &out)
	return out, err
}

// ClearScript clears a phone's fault script (DELETE
// /phones/v1/{phone}/script).
func (c *Client) ClearScript(ctx context.Context, phone string) error {
	_, err := c.do(ctx, request{method: "DELETE", path: phonePath(phone, "/script")}, nil)
	return err
}

func phonePath(phone, rest string) string { return "/phones/v1/" + segment(phone) + rest }
