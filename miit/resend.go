package miit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"smsim/simulator/core"
)

// ResendRequest is what a person enters on MIIT's resend page.
type ResendRequest struct {
	Phone            string `json:"phone"`
	CertificateLast6 string `json:"certificate_last6"`
}

// ResendResult is MIIT's answer.
type ResendResult struct {
	Result  string `json:"result"`
	Message string `json:"message"`
}

var (
	//go:embed resend.lua
	resendLua    string
	resendScript = core.NewScript[resendArgs](luaLib, resendLua)
)

// resendArgs are the arguments of resend.lua: who asks, when, and the
// orders of the number.
type resendArgs struct {
	Expect   core.Expect   `json:"expect"` // the clock and fault profile it was computed with
	Bounds   core.Bounds   `json:"bounds"`
	Phone    string        `json:"phone"`
	Last6    string        `json:"last6"`
	Now      int64         `json:"now"`       // ms
	SameCode bool          `json:"same_code"` // send the current code again instead of a new one
	Orders   []resendOrder `json:"orders"`
}

// resendOrder is an order of the number and the candidates of its new code,
// their keys at the positions CodeKeys.
type resendOrder struct {
	ID         string   `json:"id"`
	Candidates []string `json:"candidates"`
	CodeKeys   []int    `json:"code_keys"`
}

// Resend asks MIIT to text a person a new code: the earlier code stops
// working (with the resend policy same_code, the current code is sent
// again instead); the window and the failure count stay as they are.
func (s *Service) Resend(ctx context.Context, req ResendRequest) (ResendResult, error) {
	phone, l6, err := checkPerson(req.Phone, req.CertificateLast6)
	if err != nil {
		return ResendResult{}, err
	}
	// The new code's message is texted by a job this request carries out
	// after its script: two resends at once would race to text theirs.
	defer s.resendLock(phone)()
	for range maxRetries {
		l, err := s.lookup(ctx, phone, "resend")
		if err != nil {
			return ResendResult{}, err
		}
		keys := core.NewKeyList(s.libKeys(s.ks.Who(phone))...)
		for _, id := range l.ids {
			keys.Add(s.ks.Filing(id))
		}
		args := resendArgs{Expect: l.expect, Bounds: l.bounds, Phone: phone, Last6: l6, Now: l.now,
			SameCode: l.faults.ResendPolicy == core.ResendSameCode, Orders: []resendOrder{}}
		for _, id := range l.ids {
			o := resendOrder{ID: id, Candidates: make([]string, codeCandidates), CodeKeys: make([]int, codeCandidates)}
			for j := range o.Candidates {
				o.Candidates[j] = s.rand.Code("code", id, "resend", l.call, strconv.Itoa(j))
				o.CodeKeys[j] = keys.Add(s.ks.Code(o.Candidates[j]))
			}
			args.Orders = append(args.Orders, o)
		}
		out, err := resendScript.Run(ctx, s.rdb, keys.Keys(), args).StringSlice()
		if core.Stale(err) {
			s.state.Forget()
			continue
		}
		if err != nil {
			return ResendResult{}, fmt.Errorf("resend: %w", err)
		}
		if out[0] == "retry" {
			s.seen(phone, out[1:])
			continue
		}
		if err := s.carryOn(ctx, out[1:]); err != nil {
			return ResendResult{}, err
		}
		s.resends.WithLabelValues(out[0]).Inc()
		return ResendResult{Result: out[0], Message: s.wording(l.faults).Resend(out[0])}, nil
	}
	return ResendResult{}, fmt.Errorf("resend: %w", errIndexChanged)
}
