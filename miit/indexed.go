package miit

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

// A person at MIIT is found by mobile number and the last six characters of
// a certificate number, through the index of orders by number: a script
// that acts on a person is passed the index and every order it lists, and
// answers "retry" when the index changed since it was read (miit.lua's
// index_changed).

// lookup is what a validation or resend knows before its script: the
// orders of the number, the clock and the fault profile as the process
// holds them (the script checks they are current), and, with a seeded
// source, a call number for its draws.
type lookup struct {
	ids    []string
	now    int64
	faults core.Faults
	expect core.Expect
	bounds core.Bounds
	call   string
}

// lookup reads the orders of phone — one command, two with a seeded
// source, which counts the calls of counter to name their draws.
func (s *Service) lookup(ctx context.Context, phone, counter string) (lookup, error) {
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return lookup{}, err
	}
	p := s.rdb.Pipeline()
	ids := p.SMembers(ctx, s.ks.Who(phone))
	var call *redis.IntCmd
	if s.rand.Seeded() {
		call = p.HIncrBy(ctx, s.ks.Seq(), counter, 1)
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return lookup{}, fmt.Errorf("look up %s: %w", phone, err)
	}
	l := lookup{ids: ids.Val(), now: snap.Now().Now.UnixMilli(), faults: snap.Faults, expect: snap.Expect, bounds: snap.Bounds()}
	if call != nil {
		l.call = strconv.FormatInt(call.Val(), 10)
	}
	return l, nil
}

// checkPerson reads and checks the phone and certificate characters a
// person enters.
func checkPerson(phone, cert string) (string, string, error) {
	p, err := gateway.NormalizePhone("phone", phone)
	if err != nil {
		return "", "", err
	}
	if !last6Pattern.MatchString(cert) {
		if cert == "" {
			return "", "", core.Invalid("certificate_last6: missing; give the last six characters of the certificate number")
		}
		return "", "", core.Invalid("certificate_last6: must be six letters or digits (the last six characters of the certificate number), got %q", cert)
	}
	return p, last6(cert), nil
}

// maxRetries bounds how often a script is run again because the index of
// a number changed under it.
const maxRetries = 20

var errIndexChanged = errors.New("the orders of this number kept changing")
