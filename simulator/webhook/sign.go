package webhook

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

// DefaultTolerance is how far the timestamp of a post may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// ErrSignature is what every error of Verify wraps.
var ErrSignature = errors.New("webhook signature")

// Sign answers the value of the X-Smsim-Signature header of a post of body
// at timestamp (unix seconds, as in X-Smsim-Timestamp): "sha256=" and the hex
// HMAC-SHA256, keyed with secret, of the timestamp, a dot and the body.
func Sign(secret string, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks that a post with headers header and body body was signed
// with secret, at a timestamp at most tolerance (≤ 0: DefaultTolerance)
// away from now. Checking the timestamp keeps a captured post from being
// replayed later. Its errors wrap ErrSignature and name what is wrong.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts := header.Get(HeaderTimestamp)
	if ts == "" {
		return fmt.Errorf("%w: no %s header", ErrSignature, HeaderTimestamp)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a number of unix seconds", ErrSignature, HeaderTimestamp, ts)
	}
	if off := now.Sub(time.Unix(sec, 0)).Abs(); off > tolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now; tolerance %s", ErrSignature, sec, off.Truncate(time.Second), tolerance)
	}
	sig := header.Get(HeaderSignature)
	if sig == "" {
		return fmt.Errorf("%w: no %s header", ErrSignature, HeaderSignature)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrSignature, HeaderSignature)
	}
	if !hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body))) {
		return fmt.Errorf("%w: does not match the body and timestamp", ErrSignature)
	}
	return nil
}
