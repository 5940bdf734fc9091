package miit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"smsim/simulator/core"
)

// Page is a slice of a listing and how many it was cut from.
type Page[T any] struct {
	Items []T
	Total int
}

// orders reads every order, newest first; the ids of orders whose hash
// expired leave the list.
func (s *Service) orders(ctx context.Context) ([]filing, error) {
	ids, err := s.rdb.ZRevRange(ctx, s.ks.Filings(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list filings: %w", err)
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HGetAll(ctx, s.ks.Filing(id))
	}
	if len(ids) > 0 {
		if _, err := p.Exec(ctx); err != nil {
			return nil, fmt.Errorf("list filings: %w", err)
		}
	}
	out := make([]filing, 0, len(ids))
	var gone []any
	for i, c := range cmds {
		if v := c.Val(); v["id"] != "" {
			out = append(out, filing{v})
		} else {
			gone = append(gone, ids[i])
		}
	}
	if len(gone) > 0 { // expired (the retention) or reset: the list forgets them too
		if err := s.rdb.ZRem(ctx, s.ks.Filings(), gone...).Err(); err != nil {
			return nil, fmt.Errorf("list filings: forget the expired: %w", err)
		}
	}
	return out, nil
}

// ProviderViews lists the orders as the provider sees them, newest first,
// those with status (when not empty), a page of limit from offset.
func (s *Service) ProviderViews(ctx context.Context, status string, limit, offset int) (Page[ProviderView], error) {
	all, err := s.orders(ctx)
	if err != nil {
		return Page[ProviderView]{}, err
	}
	var page Page[ProviderView]
	page.Items = []ProviderView{}
	for _, f := range all {
		if status != "" && f.v["prov_status"] != status {
			continue
		}
		page.Total++
		if page.Total > offset && len(page.Items) < limit {
			page.Items = append(page.Items, f.providerView())
		}
	}
	return page, nil
}

// MIITViews lists the orders as MIIT sees them, newest first, those with
// status (when not empty), a page of limit from offset.
func (s *Service) MIITViews(ctx context.Context, status string, limit, offset int) (Page[MIITView], error) {
	all, err := s.orders(ctx)
	if err != nil {
		return Page[MIITView]{}, err
	}
	var page Page[MIITView]
	page.Items = []MIITView{}
	for _, f := range all {
		if status != "" && f.v["status"] != status {
			continue
		}
		page.Total++
		if page.Total > offset && len(page.Items) < limit {
			page.Items = append(page.Items, f.miitView())
		}
	}
	return page, nil
}

// Coming tells whether MIIT still has to text phone a code for an order
// of the number: one that has not reached MIIT yet (its codes come with
// the sync), or one whose code MIIT holds back by its own send delay
// (miit_send_delay: a miit.code job for the phone is scheduled, within its
// order's window, the order neither canceled nor rejected: held) or will
// send again at noon (auto_resend_noon: the order's miit.autoresend job is
// scheduled within its window, the order still under validation and the
// phone's person not validated yet). The
// schedule is read only when an order of the number is within its window.
func (s *Service) Coming(ctx context.Context, phone string) (bool, error) {
	ids, err := s.rdb.SMembers(ctx, s.ks.Who(phone)).Result()
	if err != nil {
		return false, fmt.Errorf("read the orders of %s: %w", phone, err)
	}
	if len(ids) == 0 {
		return false, nil
	}
	p := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		// an order has at most two subjects (the leader and the admin)
		cmds[i] = p.HMGet(ctx, s.ks.Filing(id), "status", "deadline", "s1.phone", "s1.validated", "s2.phone", "s2.validated")
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("read the orders of %s: %w", phone, err)
	}
	snap, err := s.state.Snapshot(ctx)
	if err != nil {
		return false, err
	}
	now := snap.Now().Now
	deadline := map[string]time.Time{} // of the orders within their window, neither canceled nor rejected
	pending := map[string]bool{}       // of those, the orders under validation by the phone's person: a noon re-send texts them
	for i, c := range cmds {
		v := c.Val()
		if len(v) != 6 {
			continue
		}
		status := str(v[0])
		if status == StatusUnknown {
			return true, nil
		}
		d := msTime(str(v[1]))
		if held(status) && d.After(now) {
			deadline[ids[i]] = d
			pending[ids[i]] = status == StatusPendingValidation &&
				(str(v[2]) == phone && str(v[3]) != "1" || str(v[4]) == phone && str(v[5]) != "1")
		}
	}
	if len(deadline) == 0 {
		return false, nil
	}
	within := func(j core.Job) bool {
		d, ok := deadline[j.Args[0]]
		return ok && j.Due.Before(d)
	}
	queued, err := s.sched.Scheduled(ctx, 1, func(j core.Job) bool {
		return j.Kind == JobCode && len(j.Args) > 2 && j.Args[2] == phone && within(j) ||
			j.Kind == JobAutoResend && len(j.Args) > 0 && pending[j.Args[0]] && within(j)
	})
	if err != nil {
		return false, err
	}
	return len(queued) > 0, nil
}

// held tells whether a code MIIT holds back for an order of status is
// still sent, within its window: unless the order was canceled or
// rejected, as a delayed SMS would arrive, late and dead if the order was
// validated meanwhile.
func held(status string) bool {
	return status != StatusCanceled && status != StatusRejected && status != ""
}
