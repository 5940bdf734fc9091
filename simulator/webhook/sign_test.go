package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"smsim/simulator/webhook"
)

func TestSign(t *testing.T) {
	// HMAC-SHA256 of "1772442000.{}" keyed with "k", as openssl computes it:
	// printf '1772442000.{}' | openssl dgst -sha256 -hmac k
	got := webhook.Sign("k", "1772442000", []byte("{}"))
	want := "sha256=" + "6d073545d55f249b5efa617e9b1f5fd9dc83299bda84c440a7c03021ff16cf59"
	if got != want {
		t.Fatalf("Sign = %s\nwant   %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"whd_1","attempt":1}`)
	ts := strconv.FormatInt(t0.Unix(), 10)
	signed := func(secret, ts string, body []byte) http.Header {
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
		return h
	}
	for _, c := range []struct {
		name      string
		header    http.Header
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      string // "": accepted
	}{
		{"signed", signed("s3cret", ts, body), body, t0, 0, ""},
		{"at the edge of the tolerance", signed("s3cret", ts, body), body, t0.Add(5 * time.Minute), 0, ""},
		{"from the future, within tolerance", signed("s3cret", ts, body), body, t0.Add(-time.Minute), time.Minute, ""},
		{"tampered body", signed("s3cret", ts, body), []byte(`{"id":"whd_1","attempt":2}`), t0, 0,
			"webhook signature: does not match the body and timestamp"},
		{"wrong secret", signed("other", ts, body), body, t0, 0,
			"webhook signature: does not match the body and timestamp"},
		{"timestamp changed", func() http.Header {
			h := signed("s3cret", ts, body)
			h.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Unix()+1, 10))
			return h
		}(), body, t0, 0, "webhook signature: does not match the body and timestamp"},
		{"stale", signed("s3cret", ts, body), body, t0.Add(6 * time.Minute), 0,
			"webhook signature: timestamp 1772442000 is 6m0s away from now; tolerance 5m0s"},
		{"too far ahead", signed("s3cret", ts, body), body, t0.Add(-90 * time.Second), time.Minute,
			"webhook signature: timestamp 1772442000 is 1m30s away from now; tolerance 1m0s"},
		{"no timestamp", http.Header{webhook.HeaderSignature: {webhook.Sign("s3cret", ts, body)}}, body, t0, 0,
			"webhook signature: no X-Smsim-Timestamp header"},
		{"timestamp not a number", http.Header{webhook.HeaderTimestamp: {"noon"}}, body, t0, 0,
			`webhook signature: X-Smsim-Timestamp "noon" is not a number of unix seconds`},
		{"no signature", http.Header{webhook.HeaderTimestamp: {ts}}, body, t0, 0,
			"webhook signature: no X-Smsim-Signature header"},
		{"other scheme", http.Header{webhook.HeaderTimestamp: {ts}, webhook.HeaderSignature: {"sha1=00"}}, body, t0, 0,
			"webhook signature: X-Smsim-Signature does not start with sha256="},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify("s3cret", c.header, c.body, c.now, c.tolerance)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Verify: %v, want nil", err)
			case c.want == "":
			case err == nil:
				t.Fatalf("Verify accepted, want %q", c.want)
			case err.Error() != c.want:
				t.Fatalf("Verify: %q\nwant    %q", err, c.want)
			case !errors.Is(err, webhook.ErrSignature):
				t.Fatalf("Verify: %v does not wrap ErrSignature", err)
			}
		})
	}
}
