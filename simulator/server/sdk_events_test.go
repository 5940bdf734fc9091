package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"smsim/miit"
	"smsim/simulator/client"
	"smsim/simulator/core"
)

// Every kind of event the server writes decodes into the SDK's payload of
// that kind, field for field (no field of the server's unknown to the
// SDK), and reads back as the same JSON.
func TestSDKEventPayloads(t *testing.T) {
	e := newEnv(t)
	c, err := client.New(e.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const a, b, blocked, failed = "13800000401", "13800000402", "13800000403", "13800000404"
	e.putProfile(blocked, `{"spam_filter":true}`)
	e.putProfile(failed, `{"service":"suspended"}`)
	for _, p := range []string{blocked, failed} {
		e.submit(miit.SubmitRequest{Type: "first_filing", Variant: "app", EntityLeader: leader(p)})
	}
	e.submit(firstFilingWebsite(a, b))
	e.advance("1h")
	e.validate(wrong(e.code(a)), a, leaderCert)
	e.resend(a, leaderCert)
	e.validate(e.code(a), a, leaderCert)
	e.patchFaults(`{"language":"zh","texts":{"sms.code":"验证码{code}"}}`)
	if err := c.ClearMessages(ctx, blocked); err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	check := func(events []client.Event) {
		for _, ev := range events {
			p, err := ev.Payload()
			if err != nil {
				t.Errorf("%s: %v", ev.Kind, err)
				continue
			}
			seen[ev.Kind]++
			strict := reflect.New(reflect.TypeOf(p))
			dec := json.NewDecoder(bytes.NewReader(ev.Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(strict.Interface()); err != nil {
				t.Errorf("%s: the SDK's %T misses a field of %s: %v", ev.Kind, p, ev.Data, err)
				continue
			}
			back, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(back, ev.Data) {
				t.Errorf("%s: the SDK's %T reads back as\n%s\nthe server wrote\n%s", ev.Kind, p, back, ev.Data)
			}
		}
	}
	page, err := c.Events(ctx, client.EventOptions{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	check(page.Events)
	for _, ev := range page.Events {
		p, _ := ev.Payload()
		switch v := p.(type) {
		case client.SMSOutcomeEvent:
			if v.Status == client.MessageFailed && (v.Reason != client.ReasonSuspended || !v.DeliveredAt.IsZero() || v.Phone != failed) {
				t.Errorf("failed: %+v", v)
			}
			if v.Status == client.MessageDelivered && (v.DeliveredAt.Before(v.SentAt.Time) || v.DeliveredAt.IsZero() || len(v.Trail) == 0) {
				t.Errorf("delivered: %+v", v)
			}
		case client.SMSSentEvent:
			if v.SentAt.IsZero() || v.Due.Before(v.SentAt.Time) || v.Status != client.MessageQueued {
				t.Errorf("sent: %+v", v)
			}
		case client.Faults:
			if v.Language != client.LanguageChinese || v.Texts[client.TextIDSMSCode] != "验证码{code}" {
				t.Errorf("faults: %+v", v)
			}
		}
	}
	if _, err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	page, err = c.Events(ctx, client.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check(page.Events)
	for _, k := range core.EventKinds() {
		if seen[k] == 0 {
			t.Errorf("no %s event seen: the test must make one of each kind", k)
		}
	}
	if _, err := (client.Event{ID: "1-0", Kind: "sms.teleported", Data: json.RawMessage(`{}`)}).Payload(); !errors.Is(err, client.ErrUnknownKind) {
		t.Errorf("an unknown kind: %v", err)
	}
}
