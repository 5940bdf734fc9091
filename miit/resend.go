package miit

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

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

var resendScript = redis.NewScript(luaLib + luaCheckIndex + `
local phone, last6, now, n, same_code = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
due_limit = now
local stride = 1 + ` + strconv.Itoa(codeCandidates) + `
if index_changed(KEYS[4], n, 6, stride) then return {'retry'} end
local rank = {not_found = 0, no_pending = 1, limit_reached = 2, resent = 3}
local best = 'not_found'
for fi = 1, n do
  local F, base = KEYS[4 + fi], 5 + (fi - 1) * stride
  local st = redis.call('HGET', F, 'status')
  for si = 1, nsubj(F) do
    if matches(F, si, phone, last6) then
      local r = 'not_found'
      if st == 'unknown' or st == 'under_review' or st == 'approved' or st == 'returned' then
        r = 'no_pending'
      elseif live(F, now) then
        if subj(F, si, 'validated') == '1' then
          r = 'no_pending'
        elseif tonumber(subj(F, si, 'resends')) >= ` + strconv.Itoa(MaxResends) + ` then
          r = 'limit_reached'
        else
          local code = subj(F, si, 'code')
          if same_code ~= '1' then
            local c = {}
            for j = 1, stride - 1 do c[j] = ARGV[base + 1 + j] end
            code = new_code(c)
            if not code then return redis.error_reply('no free code among the candidates') end
            local old = subj(F, si, 'code')
            if old and old ~= '' then redis.call('SREM', KEYS[3], old) end
            redis.call('HSET', F, 's' .. si .. '.code', code)
          end
          redis.call('HINCRBY', F, 's' .. si .. '.resends', 1)
          local window = tonumber(redis.call('HGET', F, 'deadline')) - tonumber(redis.call('HGET', F, 'codes_sent_at'))
          schedule(KEYS[1], KEYS[2], now, 'miit.code', {ARGV[base + 1], tostring(si), phone, code, tostring(window)})
          r = 'resent'
        end
      end
      if rank[r] > rank[best] then best = r end
    end
  end
end
emit('resend', {phone = phone, result = best})
return with_due_now({best})
`)

// Resend asks MIIT to text a person a new code: the earlier code stops
// working (with the resend policy same_code, the current code is sent
// again instead); the window and the failure count stay as they are.
func (s *Service) Resend(ctx context.Context, req ResendRequest) (ResendResult, error) {
	phone, l6, err := checkPerson(req.Phone, req.CertificateLast6)
	if err != nil {
		return ResendResult{}, err
	}
	for range maxRetries {
		l, err := s.lookup(ctx, phone, "resend")
		if err != nil {
			return ResendResult{}, err
		}
		more := []string{s.whoKey(phone)}
		argv := []any{phone, l6, l.now, len(l.ids), b01(l.faults.ResendPolicy == core.ResendSameCode)}
		for _, id := range l.ids {
			more = append(more, s.filingKey(id))
			argv = append(argv, id)
			for j := 0; j < codeCandidates; j++ {
				argv = append(argv, s.rand.Code("code", id, "resend", l.call, strconv.Itoa(j)))
			}
		}
		out, err := resendScript.Run(ctx, s.rdb, s.schedKeys(more...), argv...).StringSlice()
		if err != nil {
			return ResendResult{}, fmt.Errorf("resend: %w", err)
		}
		if out[0] == "retry" {
			continue
		}
		if err := s.sched.RunNow(ctx, out[1:]...); err != nil {
			return ResendResult{}, err
		}
		s.resends.WithLabelValues(out[0]).Inc()
		return ResendResult{Result: out[0], Message: resendText[out[0]]}, nil
	}
	return ResendResult{}, fmt.Errorf("resend: %w", errIndexChanged)
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
