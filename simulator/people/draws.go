package people

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// draws is where the crowd's random draws come from. Without a seed they
// read crypto/rand. With a seed, a draw is a keyed hash of the seed and the
// draw's name (such as "people", "arrival", "3"), so that the same seed
// gives the same crowd in every run, whatever the order of the calls. They
// draw as the simulator's own seeded source does.
type draws struct {
	key []byte // nil: crypto/rand
}

func newDraws(seed *int64) *draws {
	if seed == nil {
		return &draws{}
	}
	return &draws{key: []byte("smsim-seed:" + strconv.FormatInt(*seed, 10))}
}

// Uint64 draws a uniform 64-bit number named by parts.
func (d *draws) Uint64(parts ...string) uint64 {
	if d.key == nil {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
		}
		return binary.BigEndian.Uint64(b[:])
	}
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return binary.BigEndian.Uint64(m.Sum(nil)[:8])
}

// Float64 draws a uniform number in [0, 1).
func (d *draws) Float64(parts ...string) float64 {
	return float64(d.Uint64(parts...)>>11) / (1 << 53)
}

// Between draws a duration uniform in [min, max], in whole milliseconds.
func (d *draws) Between(min, max time.Duration, parts ...string) time.Duration {
	lo, hi := min.Milliseconds(), max.Milliseconds()
	if hi <= lo {
		return time.Duration(lo) * time.Millisecond
	}
	span := uint64(hi - lo + 1)
	return time.Duration(lo+int64(d.Uint64(parts...)%span)) * time.Millisecond
}
