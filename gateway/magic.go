package gateway

import (
	"time"

	"smsim/simulator/core"
)

// Magic numbers: phones whose faults need no configuration, as in a
// payment sandbox. They hold while the fault profile's magic_numbers is on
// and nobody has set the phone's profile.
const (
	MagicSuspended        = "19900000001" // every delivery fails: suspended
	MagicUnreachable      = "19900000002" // every delivery fails: unreachable (the number is unavailable)
	MagicSpamFilter       = "19900000003" // MIIT's messages land in the blocked folder
	MagicLongDelay        = "19900000004" // every message arrives 2 hours late
	MagicDuplicate        = "19900000005" // every message is delivered twice
	MagicSpuriousNotFound = "19900000006" // MIIT answers the first validation from this number not_found (see miit)
	MagicAPIUnavailable   = "19900000007" // MIIT's API answers the first validation or resend of this number 503, Retry-After: 1
	MagicAPIDropped       = "19900000008" // MIIT's API drops the connection of the first validation or resend of this number
)

// MagicLongDelayBy is the delay of MagicLongDelay.
const MagicLongDelayBy = 2 * time.Hour

// MagicProfile is the profile of a magic number.
func MagicProfile(phone string) (Profile, bool) {
	p := DefaultProfile()
	switch phone {
	case MagicSuspended:
		p.Service = ServiceSuspended
	case MagicUnreachable:
		p.Reachable = false
	case MagicSpamFilter:
		p.SpamFilter = true
	case MagicLongDelay:
		p.Delay = core.Fixed(MagicLongDelayBy)
	case MagicDuplicate:
		p.DuplicateRate = 1
	default:
		return Profile{}, false
	}
	return p, true
}
