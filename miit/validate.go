package miit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"smsim/gateway"
	"smsim/simulator/core"
)

// ValidateRequest is what a person enters on MIIT's validation page.
type ValidateRequest struct {
	Code             string `json:"code"`
	Phone            string `json:"phone"`
	CertificateLast6 string `json:"certificate_last6"`
}

// ValidationResult is MIIT's answer. Rejected is true on the failure that
// rejected the order.
type ValidationResult struct {
	Result   string `json:"result"`
	Message  string `json:"message"`
	Rejected bool   `json:"rejected"`
}

var (
	//go:embed validate.lua
	validateLua    string
	validateScript = core.NewScript[validateArgs](luaLib, validateLua)
)

// validateArgs are the arguments of validate.lua: what the person entered,
// when, and the orders of the number.
type validateArgs struct {
	Expect core.Expect     `json:"expect"` // the clock and fault profile it was computed with
	Bounds core.Bounds     `json:"bounds"`
	Phone  string          `json:"phone"`
	Last6  string          `json:"last6"`
	Code   string          `json:"code"`
	Now    int64           `json:"now"` // ms
	Orders []validateOrder `json:"orders"`
	// Spurious: MIIT glitches (spurious_not_found_rate) and answers
	// not_found, changing nothing. Magic: the number is the magic one whose
	// first validation glitches.
	Spurious bool `json:"spurious"`
	Magic    bool `json:"magic"`
}

// validateOrder is an order of the number and the lags of its outcomes,
// in ms from now: when the provider learns of a partial validation, of the
// order going under review, of its rejection; how long its review takes.
type validateOrder struct {
	ID             string `json:"id"`
	ValidatedLag   int64  `json:"validated_lag"`
	UnderReviewLag int64  `json:"under_review_lag"`
	RejectedLag    int64  `json:"rejected_lag"`
	ReviewTime     int64  `json:"review_time"`
}

// AppendJSON appends a as encoding/json writes it (core.Appender): the
// arguments of every validation, written without encoding/json's
// reflection, which was a fifth of the validation endpoint's handler.
func (a validateArgs) AppendJSON(b []byte) []byte {
	b = append(b, `{"expect":`...)
	b = a.Expect.AppendJSON(b)
	b = append(b, `,"bounds":`...)
	b = a.Bounds.AppendJSON(b)
	b = core.AppendJSONString(append(b, `,"phone":`...), a.Phone)
	b = core.AppendJSONString(append(b, `,"last6":`...), a.Last6)
	b = core.AppendJSONString(append(b, `,"code":`...), a.Code)
	b = strconv.AppendInt(append(b, `,"now":`...), a.Now, 10)
	b = core.AppendJSONArray(append(b, `,"orders":`...), a.Orders, func(b []byte, o validateOrder) []byte {
		b = core.AppendJSONString(append(b, `{"id":`...), o.ID)
		b = strconv.AppendInt(append(b, `,"validated_lag":`...), o.ValidatedLag, 10)
		b = strconv.AppendInt(append(b, `,"under_review_lag":`...), o.UnderReviewLag, 10)
		b = strconv.AppendInt(append(b, `,"rejected_lag":`...), o.RejectedLag, 10)
		b = strconv.AppendInt(append(b, `,"review_time":`...), o.ReviewTime, 10)
		return append(b, '}')
	})
	b = strconv.AppendBool(append(b, `,"spurious":`...), a.Spurious)
	b = strconv.AppendBool(append(b, `,"magic":`...), a.Magic)
	return append(b, '}')
}

// Validate checks a code a person entered. Every domain outcome is a
// result; only malformed input is an error.
func (s *Service) Validate(ctx context.Context, req ValidateRequest) (ValidationResult, error) {
	if !codePattern.MatchString(req.Code) {
		if req.Code == "" {
			return ValidationResult{}, core.Invalid("code: missing; give the six-digit code from the text message")
		}
		return ValidationResult{}, core.Invalid("code: must be exactly six digits, got %q", req.Code)
	}
	phone, l6, err := checkPerson(req.Phone, req.CertificateLast6)
	if err != nil {
		return ValidationResult{}, err
	}
	for range maxRetries {
		l, err := s.lookup(ctx, phone, "validation")
		if err != nil {
			return ValidationResult{}, err
		}
		own := []string{s.ks.Who(phone), s.ks.MagicSpurious(phone), s.ks.Code(req.Code)}
		args := validateArgs{Expect: l.expect, Bounds: l.bounds, Phone: phone, Last6: l6, Code: req.Code, Now: l.now, Orders: []validateOrder{},
			Spurious: s.rand.Chance(l.faults.SpuriousNotFoundRate, "spurious_not_found", l.call),
			Magic:    phone == gateway.MagicSpuriousNotFound && l.faults.MagicNumbers}
		rf := l.faults.ResultSyncLag
		for _, id := range l.ids {
			own = append(own, s.ks.Filing(id))
			args.Orders = append(args.Orders, validateOrder{ID: id,
				ValidatedLag:   rf.Draw(s.rand, "result_sync_lag", id, "validated", phone).Milliseconds(),
				UnderReviewLag: rf.Draw(s.rand, "result_sync_lag", id, StatusUnderReview).Milliseconds(),
				RejectedLag:    rf.Draw(s.rand, "result_sync_lag", id, StatusRejected).Milliseconds(),
				ReviewTime:     l.faults.Review.Time.Draw(s.rand, "review", id).Milliseconds(),
			})
		}
		out, err := validateScript.Run(ctx, s.rdb, s.libKeys(own...), args).StringSlice()
		if core.Stale(err) {
			s.state.Forget()
			continue
		}
		if err != nil {
			return ValidationResult{}, fmt.Errorf("validate: %w", err)
		}
		if out[0] == "retry" {
			s.seen(phone, out[2:])
			continue
		}
		if err := s.carryOn(ctx, out[2:]); err != nil {
			return ValidationResult{}, err
		}
		return s.validation(l.faults, out[0], out[1] == "1"), nil
	}
	return ValidationResult{}, fmt.Errorf("validate: %w", errIndexChanged)
}

func (s *Service) validation(f core.Faults, result string, rejected bool) ValidationResult {
	s.validations.WithLabelValues(result).Inc()
	return ValidationResult{Result: result, Message: s.wording(f).Validation(result), Rejected: rejected}
}
