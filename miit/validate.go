package miit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

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

var validateScript = redis.NewScript(luaLib + luaCheckIndex + `
local phone, last6, code, now, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
due_limit = now
if index_changed(KEYS[4], n, 6, 5) then return {'retry', '0'} end
local matched = {}
for fi = 1, n do
  local F = KEYS[4 + fi]
  if live(F, now) then
    for si = 1, nsubj(F) do
      if subj(F, si, 'validated') ~= '1' and matches(F, si, phone, last6) then
        matched[#matched + 1] = {fi, si}
      end
    end
  end
end
if #matched == 0 then
  emit('validation', {phone = phone, result = 'not_found', rejected = false})
  return {'not_found', '0'}
end

local hits = {}
for _, m in ipairs(matched) do
  if subj(KEYS[4 + m[1]], m[2], 'code') == code then hits[#hits + 1] = m end
end
if #hits > 0 then
  local result = 'partial'
  for _, m in ipairs(hits) do
    local F, base = KEYS[4 + m[1]], 5 + (m[1] - 1) * 5
    redis.call('HSET', F, 's' .. m[2] .. '.validated', '1')
    redis.call('SREM', KEYS[3], code)
    local all = true
    for si = 1, nsubj(F) do
      if subj(F, si, 'validated') ~= '1' then all = false end
    end
    if all then
      count_status(F, 'under_review')
      redis.call('HSET', F, 'status', 'under_review', 'validated_at', ARGV[4])
      bump(F, now + tonumber(ARGV[base + 3]), 'under_review')
      schedule(KEYS[1], KEYS[2], now + tonumber(ARGV[base + 5]), 'miit.review', {ARGV[base + 1]})
      result = 'complete'
    else
      bump(F, now + tonumber(ARGV[base + 2]), 'pending_validation')
    end
  end
  emit('validation', {phone = phone, result = result, rejected = false})
  return with_due_now({result, '0'})
end

local rejected = '0'
for _, m in ipairs(matched) do
  local F, base = KEYS[4 + m[1]], 5 + (m[1] - 1) * 5
  if redis.call('HINCRBY', F, 's' .. m[2] .. '.failures', 1) >= ` + strconv.Itoa(MaxFailures) + ` then
    kill_codes(F)
    count_status(F, 'rejected')
    redis.call('HSET', F, 'status', 'rejected', 'rejected_at', ARGV[4])
    bump(F, now + tonumber(ARGV[base + 4]), 'rejected')
    rejected = '1'
  end
end
emit('validation', {phone = phone, result = 'failed', rejected = rejected == '1'})
return with_due_now({'failed', rejected})
`)

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
		if s.rand.Chance(l.faults.SpuriousNotFoundRate, "spurious_not_found", l.call) {
			return s.spurious(ctx, phone, l), nil
		}
		if phone == gateway.MagicSpuriousNotFound && l.faults.MagicNumbers {
			first, err := s.rdb.SetNX(ctx, s.ks.Key("magic", "spurious", phone), 1, 0).Result()
			if err != nil {
				return ValidationResult{}, fmt.Errorf("validate: %w", err)
			}
			if first { // the magic number's first validation: a glitch, nothing applied
				return s.spurious(ctx, phone, l), nil
			}
		}
		more := []string{s.whoKey(phone)}
		argv := []any{phone, l6, req.Code, l.now, len(l.ids)}
		rf := l.faults.ResultSyncLag
		for _, id := range l.ids {
			more = append(more, s.filingKey(id))
			argv = append(argv, id,
				rf.Draw(s.rand, "result_sync_lag", id, "validated", phone).Milliseconds(),
				rf.Draw(s.rand, "result_sync_lag", id, StatusUnderReview).Milliseconds(),
				rf.Draw(s.rand, "result_sync_lag", id, StatusRejected).Milliseconds(),
				l.faults.Review.Time.Draw(s.rand, "review", id).Milliseconds())
		}
		out, err := validateScript.Run(ctx, s.rdb, s.schedKeys(more...), argv...).StringSlice()
		if err != nil {
			return ValidationResult{}, fmt.Errorf("validate: %w", err)
		}
		if out[0] == "retry" {
			continue
		}
		if err := s.sched.RunNow(ctx, out[2:]...); err != nil {
			return ValidationResult{}, err
		}
		return s.validation(out[0], out[1] == "1"), nil
	}
	return ValidationResult{}, fmt.Errorf("validate: %w", errIndexChanged)
}

func (s *Service) validation(result string, rejected bool) ValidationResult {
	s.validations.WithLabelValues(result).Inc()
	return ValidationResult{Result: result, Message: validateText[result], Rejected: rejected}
}

// spurious answers not_found for a glitch of MIIT's, changing nothing.
func (s *Service) spurious(ctx context.Context, phone string, l lookup) ValidationResult {
	s.emit(ctx, time.UnixMilli(l.now).UTC(), core.KindValidation,
		map[string]any{"phone": phone, "result": ResultNotFound, "rejected": false, "spurious": true})
	return s.validation(ResultNotFound, false)
}
