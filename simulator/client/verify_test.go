package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"smsim/simulator/client"
)

// A post signed at 1777593600 with the secret s3cret: "sha256=" and the
// HMAC-SHA256 of "1777593600.{}" keyed with "s3cret".
const (
	signedAt       = "1777593600"
	validSignature = "sha256=34a734ab26f7ad26e3f08cb0246d18c078864d114838f1132b1348b32a40a0c6"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1777593600, 0)
	header := func(ts, sig string) http.Header {
		h := http.Header{}
		if ts != "" {
			h.Set(client.WebhookTimestampHeader, ts)
		}
		if sig != "" {
			h.Set(client.WebhookSignatureHeader, sig)
		}
		return h
	}
	good := header(signedAt, validSignature)
	if err := client.VerifyWebhook("s3cret", good, []byte(`{}`), now, 0); err != nil {
		t.Fatalf("a good post: %v", err)
	}
	if err := client.VerifyWebhook("s3cret", good, []byte(`{}`), now.Add(5*time.Minute), 0); err != nil {
		t.Fatalf("a post 5 minutes old, the default tolerance: %v", err)
	}
	for _, c := range []struct {
		name   string
		secret string
		header http.Header
		body   string
		now    time.Time
		tol    time.Duration
		err    string
	}{
		{"another secret", "other", good, `{}`, now, 0, "webhook signature: does not match the body and timestamp"},
		{"another body", "s3cret", good, `{"x":1}`, now, 0, "webhook signature: does not match the body and timestamp"},
		{"too old", "s3cret", good, `{}`, now.Add(5*time.Minute + time.Second), 0, "webhook signature: timestamp 1777593600 is 5m1s away from now; tolerance 5m0s"},
		{"older than asked", "s3cret", good, `{}`, now.Add(2 * time.Second), time.Second, "webhook signature: timestamp 1777593600 is 2s away from now; tolerance 1s"},
		{"no timestamp", "s3cret", header("", validSignature), `{}`, now, 0, "webhook signature: no X-Smsim-Timestamp header"},
		{"a timestamp that is no number", "s3cret", header("soon", validSignature), `{}`, now, 0, `webhook signature: X-Smsim-Timestamp "soon" is not a number of unix seconds`},
		{"no signature", "s3cret", header(signedAt, ""), `{}`, now, 0, "webhook signature: no X-Smsim-Signature header"},
		{"another scheme", "s3cret", header(signedAt, strings.Replace(validSignature, "sha256", "sha1", 1)), `{}`, now, 0, "webhook signature: X-Smsim-Signature does not start with sha256="},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := client.VerifyWebhook(c.secret, c.header, []byte(c.body), c.now, c.tol)
			if !errors.Is(err, client.ErrWebhookSignature) || err.Error() != c.err {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}
