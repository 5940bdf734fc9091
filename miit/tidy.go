package miit

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

// What a script cannot reach it leaves to tidy.lua, which its caller runs
// next (carryOn): the live codes of an order that ended, or the one a
// resend replaced, to free; the numbers of an order that ended, or left
// them, whose index of orders is retired once no order of theirs is under
// way. A script's KEYS are named before it runs, and neither the codes of
// an order nor the other orders of its numbers are known before.

var (
	//go:embed tidy.lua
	tidyLua    string
	tidyScript = core.NewScript[tidyArgs](luaLib, tidyLua)
)

// tidyArgs are the arguments of tidy.lua: the codes to free and the numbers
// whose index to bound, each key by its position in KEYS.
type tidyArgs struct {
	Expect  core.Expect  `json:"expect"`
	Bounds  core.Bounds  `json:"bounds"`
	Codes   []tidyCode   `json:"codes"`
	Numbers []tidyNumber `json:"numbers"`
}

// tidyCode is a code to free, if order ID still holds it.
type tidyCode struct {
	K    int    `json:"k"`
	Code string `json:"code"`
	ID   string `json:"id"`
}

// tidyNumber is the index of a number and the orders it listed.
type tidyNumber struct {
	Who    int         `json:"who"`
	Orders []tidyOrder `json:"orders"`
}

type tidyOrder struct {
	ID string `json:"id"`
	K  int    `json:"k"`
}

// tidyPrefix marks the items of a script's reply that it left to tidy
// (miit.lua's later_free, later_retire).
const tidyPrefix = "tidy:"

// leftover is what scripts left to tidy.
type leftover struct {
	codes  []tidyItem // code and order id
	phones []string
	keep   []string // numbers whose index lives the namespace's TTL from now (miit.lua's keep_others)
}

type tidyItem struct{ code, id string }

// leftToTidy takes out of a script's reply what it left to tidy, and
// answers the rest (the jobs due at once, and when the next falls due).
func leftToTidy(items []string) ([]string, leftover) {
	var rest []string
	var l leftover
	for _, it := range items {
		t, ok := strings.CutPrefix(it, tidyPrefix)
		if !ok {
			rest = append(rest, it)
			continue
		}
		if phone, ok := strings.CutPrefix(t, "retire:"); ok {
			if !slices.Contains(l.phones, phone) {
				l.phones = append(l.phones, phone)
			}
		} else if phone, ok := strings.CutPrefix(t, "keep:"); ok {
			if !slices.Contains(l.keep, phone) {
				l.keep = append(l.keep, phone)
			}
		} else if c, ok := strings.CutPrefix(t, "free:"); ok {
			code, id, _ := strings.Cut(c, ":")
			l.codes = append(l.codes, tidyItem{code, id})
		}
	}
	return rest, l
}

// carryOn finishes what a script of the library began: it tidies what the
// script left (tidy), then carries out the jobs it found due at once.
func (s *Service) carryOn(ctx context.Context, items []string) error {
	jobs, l := leftToTidy(items)
	if err := s.keepIndexes(ctx, l.keep); err != nil {
		return err
	}
	if err := s.tidy(ctx, l); err != nil {
		return err
	}
	return s.sched.RunNow(ctx, jobs...)
}

// keepIndexes gives the index of each number of phones the namespace's
// TTL from now: an order of theirs is under way (miit.lua's keep_others).
// One round trip.
func (s *Service) keepIndexes(ctx context.Context, phones []string) error {
	if len(phones) == 0 {
		return nil
	}
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return err
	}
	live := snap.Bounds().Live
	if live <= 0 {
		return nil
	}
	p := s.rdb.Pipeline()
	for _, phone := range phones {
		p.PExpire(ctx, s.ks.Who(phone), time.Duration(live)*time.Millisecond)
	}
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("keep the indexes of %v: %w", phones, err)
	}
	return nil
}

// tidy frees the codes of l and bounds the life of the index of each of
// its numbers by the orders the index lists (tidy.lua): one round trip for
// codes alone, two with numbers (their indexes are read first).
func (s *Service) tidy(ctx context.Context, l leftover) error {
	if len(l.codes) == 0 && len(l.phones) == 0 {
		return nil
	}
	for range maxRetries {
		var members []*redis.StringSliceCmd
		if len(l.phones) > 0 {
			p := s.rdb.Pipeline()
			for _, phone := range l.phones {
				members = append(members, p.SMembers(ctx, s.ks.Who(phone)))
			}
			if _, err := p.Exec(ctx); err != nil {
				return fmt.Errorf("tidy: read the orders of the numbers: %w", err)
			}
		}
		var out string
		err := s.withSnapshot(ctx, func(snap core.Snapshot) (err error) {
			keys := core.NewKeyList(s.libKeys()...)
			args := tidyArgs{Expect: snap.Expect, Bounds: snap.Bounds(), Codes: []tidyCode{}, Numbers: []tidyNumber{}}
			for _, c := range l.codes {
				args.Codes = append(args.Codes, tidyCode{K: keys.Add(s.ks.Code(c.code)), Code: c.code, ID: c.id})
			}
			for i, phone := range l.phones {
				n := tidyNumber{Who: keys.Add(s.ks.Who(phone)), Orders: []tidyOrder{}}
				for _, id := range members[i].Val() {
					n.Orders = append(n.Orders, tidyOrder{ID: id, K: keys.Add(s.ks.Filing(id))})
				}
				args.Numbers = append(args.Numbers, n)
			}
			out, err = tidyScript.Run(ctx, s.rdb, keys.Keys(), args).Text()
			return err
		})
		if err != nil {
			return fmt.Errorf("tidy: %w", err)
		}
		if out != "retry" {
			return nil
		}
	}
	return fmt.Errorf("tidy: %w", errIndexChanged)
}

// withSnapshot runs a script with the namespace's snapshot (run), and runs
// it again with the snapshot read afresh while the script refuses it as
// stale.
func (s *Service) withSnapshot(ctx context.Context, run func(core.Snapshot) error) error {
	for range maxStale {
		snap, err := s.state.Snapshot(ctx)
		if err != nil {
			return err
		}
		if err = run(snap); !core.Stale(err) {
			return err
		}
		s.state.Forget()
	}
	return gateway.ErrKeptChanging
}
