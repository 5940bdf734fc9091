package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is how far the timestamp of a post may be from
// the receiver's clock when VerifyWebhook is given no tolerance.
const DefaultWebhookTolerance = 5 * time.Minute

// ErrWebhookSignature is what every error of VerifyWebhook wraps.
var ErrWebhookSignature = errors.New("webhook signature")

// VerifyWebhook checks that a webhook's post with headers header and body
// body was signed with secret (the Webhook's Secret), at a timestamp at
// most tolerance (≤ 0: DefaultWebhookTolerance) away from now. Checking
// the timestamp keeps a captured post from being replayed later. Its
// errors wrap ErrWebhookSignature and name what is wrong.
//
//	b, _ := io.ReadAll(r.Body)
//	if err := client.VerifyWebhook(secret, r.Header, b, time.Now(), 0); err != nil { … 401 … }
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	ts := header.Get(WebhookTimestampHeader)
	if ts == "" {
		return fmt.Errorf("%w: no %s header", ErrWebhookSignature, WebhookTimestampHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a number of unix seconds", ErrWebhookSignature, WebhookTimestampHeader, ts)
	}
	if off := now.Sub(time.Unix(sec, 0)).Abs(); off > tolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now; tolerance %s", ErrWebhookSignature, sec, off.Truncate(time.Second), tolerance)
	}
	sig := header.Get(WebhookSignatureHeader)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", ErrWebhookSignature, WebhookSignatureHeader)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrWebhookSignature, WebhookSignatureHeader)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	if !hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
		return fmt.Errorf("%w: does not match the body and timestamp", ErrWebhookSignature)
	}
	return nil
}
