package miit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

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
// source, which counts the calls of counter to name their draws — unless
// this process saw them lately (numbers): then none, and the script, which
// checks the index, answers what it lists if it changed (seen).
func (s *Service) lookup(ctx context.Context, phone, counter string) (lookup, error) {
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return lookup{}, err
	}
	if ids, ok := s.numbers.get(phone); ok && !s.rand.Seeded() {
		return lookup{ids: ids, now: snap.Now().Now.UnixMilli(), faults: snap.Faults, expect: snap.Expect, bounds: snap.Bounds()}, nil
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
	s.numbers.put(phone, ids.Val())
	l := lookup{ids: ids.Val(), now: snap.Now().Now.UnixMilli(), faults: snap.Faults, expect: snap.Expect, bounds: snap.Bounds()}
	if call != nil {
		l.call = strconv.FormatInt(call.Val(), 10)
	}
	return l, nil
}

// seen notes what a script found the index of phone to list: a
// submission's, which answers it for each of its numbers, or a
// validation's or resend's that answered "retry" followed by the ids.
func (s *Service) seen(phone string, ids []string) {
	s.numbers.put(phone, ids)
}

// numberIndex holds the orders of the numbers a process submitted,
// validated or resent for lately, as the index listed them, so that the
// next validation of the number needs no read of the index before its
// script: the script checks the index and answers what it lists if it
// changed. It holds at most numbersKept numbers, forgetting one at random
// to take another.
type numberIndex struct {
	mu  sync.Mutex
	ids map[string][]string
}

// numbersKept bounds a namespace's numberIndex: a test validates a few
// numbers many times; a load of many numbers once each needs a number kept
// only from its submission to its validation, and holds at most this many
// (about 100 bytes each).
const numbersKept = 128

func (n *numberIndex) get(phone string) ([]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ids, ok := n.ids[phone]
	return ids, ok
}

func (n *numberIndex) put(phone string, ids []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ids == nil {
		n.ids = map[string][]string{}
	}
	if _, ok := n.ids[phone]; !ok && len(n.ids) >= numbersKept {
		for k := range n.ids {
			delete(n.ids, k)
			break
		}
	}
	n.ids[phone] = slices.Clone(ids)
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
