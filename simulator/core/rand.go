package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Source is where every random draw of the simulator comes from: codes,
// ids, lags, delays and fault rolls. Without a seed it reads crypto/rand.
// With a seed, a draw is a keyed hash of the seed and the draw's name (for
// example "code", a filing id and a person), so the same seed and the same
// calls give the same draws in every run, whatever the interleaving of
// goroutines or processes.
type Source struct {
	key []byte // nil: crypto/rand
}

// NewSource returns a source of crypto/rand draws.
func NewSource() *Source { return &Source{} }

// NewSeededSource returns a source whose draws are reproducible from seed.
func NewSeededSource(seed int64) *Source {
	return &Source{key: []byte("smsim-seed:" + strconv.FormatInt(seed, 10))}
}

// Uint64 draws a uniform 64-bit number named by parts.
func (s *Source) Uint64(parts ...string) uint64 {
	var b [8]byte
	if s.key == nil {
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
		}
		return binary.BigEndian.Uint64(b[:])
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(m.Sum(nil)[:8])
}

// Float64 draws a uniform number in [0, 1).
func (s *Source) Float64(parts ...string) float64 {
	return float64(s.Uint64(parts...)>>11) / (1 << 53)
}

// Chance draws true with probability p.
func (s *Source) Chance(p float64, parts ...string) bool {
	if p <= 0 {
		return false
	}
	if p >= 1 {
		return true
	}
	return s.Float64(parts...) < p
}

// Between draws a duration uniform in [min, max], in whole milliseconds.
func (s *Source) Between(min, max time.Duration, parts ...string) time.Duration {
	lo, hi := min.Milliseconds(), max.Milliseconds()
	if hi <= lo {
		return time.Duration(lo) * time.Millisecond
	}
	span := uint64(hi - lo + 1)
	return time.Duration(lo+int64(s.Uint64(parts...)%span)) * time.Millisecond
}

// Code draws a six-digit verification code.
func (s *Source) Code(parts ...string) string {
	return fmt.Sprintf("%06d", s.Uint64(parts...)%1_000_000)
}

// ID draws an identifier: prefix, an underscore and 16 hex digits.
func (s *Source) ID(prefix string, parts ...string) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.Uint64(parts...))
	return prefix + "_" + hex.EncodeToString(b[:])
}

// DerivedID is an identifier that is the same every time it is derived
// from the same parts, seeded or not: a sender that may run twice (a retried
// event) names what it creates with one.
func (s *Source) DerivedID(prefix string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(append([]string{"derived"}, parts...), "\x00")))
	return prefix + "_" + hex.EncodeToString(h[:8])
}

// Seeded tells whether draws are reproducible (NewSeededSource).
func (s *Source) Seeded() bool { return s.key != nil }
