package miit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"smsim/gateway"
	"smsim/simulator/core"
)

// NumberChange is a new mobile number for a required person of an order.
type NumberChange struct {
	Phone string `json:"phone"`
}

var changeNumberScript = redis.NewScript(luaLib + `
local F, role, phone, now = KEYS[4], ARGV[1], ARGV[2], tonumber(ARGV[3])
due_limit = now
if redis.call('HGET', F, 'type') ~= 'cancel' then return {'not_cancel', redis.call('HGET', F, 'type')} end
local st = redis.call('HGET', F, 'status')
if st ~= 'unknown' and not live(F, now) then return {'state', st} end
local si = nil
for i = 1, nsubj(F) do
  if string.find(',' .. subj(F, i, 'roles') .. ',', ',' .. role .. ',', 1, true) then si = i end
end
if not si then return {'not_required'} end
local id = redis.call('HGET', F, 'id')
redis.call('HSET', F, 's' .. si .. '.phone', phone, 'people', ARGV[4])
redis.call('SREM', KEYS[5], id)
redis.call('SADD', KEYS[6], id)
if st == 'pending_validation' then
  local window = tonumber(redis.call('HGET', F, 'deadline')) - tonumber(redis.call('HGET', F, 'codes_sent_at'))
  schedule(KEYS[1], KEYS[2], now, 'miit.code', {id, tostring(si), phone, subj(F, si, 'code'), tostring(window)})
end
return with_due_now({'ok'})
`)

// ChangeNumbers updates the mobile numbers of required people of a
// cancellation order in place, as MIIT allows for cancellations only: the
// current code goes to the new number at once (not counted as a resend),
// and the old number no longer validates. Any other order must be canceled
// and submitted again with the new number.
func (s *Service) ChangeNumbers(ctx context.Context, id string, changes map[string]NumberChange) (ProviderView, error) {
	f, err := s.load(ctx, id)
	if err != nil {
		return ProviderView{}, err
	}
	if len(changes) == 0 {
		return ProviderView{}, core.Invalid("body: name the person whose number changes, e.g. {\"website_admin\": {\"phone\": \"13900000009\"}}")
	}
	for role := range changes {
		if role != EntityLeader && role != WebsiteAdmin {
			return ProviderView{}, core.Invalid("%s: unknown field; give %s or %s", role, EntityLeader, WebsiteAdmin)
		}
	}
	if f.v["type"] != TypeCancel {
		return ProviderView{}, core.Conflict("filing %s is a %s order: its numbers cannot be changed in place; cancel it and submit a new order with the new number (only a cancel order may change a number in place)", id, f.v["type"])
	}
	// Check every change before making any.
	phones := map[string]string{}
	people := f.people()
	for _, role := range both {
		c, ok := changes[role]
		if !ok {
			continue
		}
		phone, err := gateway.NormalizePhone(role+".phone", c.Phone)
		if err != nil {
			return ProviderView{}, err
		}
		if people[role] == nil || !strings.Contains(","+f.v["required"]+",", ","+role+",") {
			return ProviderView{}, core.Invalid("%s: does not validate this order (it needs %s)", role, f.v["required"])
		}
		phones[role] = phone
	}
	for _, role := range both {
		phone, ok := phones[role]
		if !ok {
			continue
		}
		people := f.people()
		old := people[role].Phone
		people[role].Phone = phone
		pj, _ := json.Marshal(people)
		now, err := s.clock.Now(ctx)
		if err != nil {
			return ProviderView{}, err
		}
		out, err := changeNumberScript.Run(ctx, s.rdb,
			s.schedKeys(s.filingKey(id), s.whoKey(old), s.whoKey(phone)),
			role, phone, now.UnixMilli(), string(pj)).StringSlice()
		if err != nil {
			return ProviderView{}, fmt.Errorf("change number: %w", err)
		}
		switch out[0] {
		case "state":
			return ProviderView{}, core.Conflict("filing %s is %s at MIIT: its numbers can no longer change", id, out[1])
		case "not_required":
			return ProviderView{}, core.Invalid("%s: does not validate this order (it needs %s)", role, f.v["required"])
		case "not_cancel":
			return ProviderView{}, core.Conflict("filing %s is a %s order: cancel it and submit a new order with the new number", id, out[1])
		}
		if err := s.sched.RunNow(ctx, out[1:]...); err != nil {
			return ProviderView{}, err
		}
		if f, err = s.load(ctx, id); err != nil {
			return ProviderView{}, err
		}
	}
	return s.ProviderView(ctx, id)
}
