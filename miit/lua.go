package miit

import (
	"strconv"

	"smsim/simulator/core"
)

// luaLib is prepended to every script of this package. Its scripts take
// KEYS[1] (the scheduler's due set), KEYS[2] (its sequence hash) and
// KEYS[3] (the set of live codes) first, and the event log last. A filing
// is a hash; its subjects — the required people, one per distinct mobile
// number — are the fields s<i>.phone, s<i>.roles, s<i>.certs
// (",last6,…,"), s<i>.code, s<i>.failures, s<i>.resends and
// s<i>.validated.
var luaLib = core.LuaSchedule + luaOrders + `
local function nsubj(F)
  return tonumber(redis.call('HGET', F, 'nsubj') or '0')
end

local function subj(F, i, field)
  return redis.call('HGET', F, 's' .. i .. '.' .. field)
end

local function kill_codes(F)
  for i = 1, nsubj(F) do
    local c = subj(F, i, 'code')
    if c and c ~= '' then redis.call('SREM', KEYS[3], c) end
  end
end

local function validated_roles(F)
  local out = {}
  for i = 1, nsubj(F) do
    if subj(F, i, 'validated') == '1' then out[#out + 1] = subj(F, i, 'roles') end
  end
  return table.concat(out, ',')
end

-- emit appends an event to the event log, the last of KEYS, at the time
-- the script acts (due_limit).
local function emit(kind, data)
  redis.call('XADD', KEYS[#KEYS], 'MAXLEN', '~', '` + strconv.Itoa(core.DefaultEventLogLen) + `', '*',
    'at', tostring(due_limit), 'kind', kind, 'data', cjson.encode(data))
end

local function emit_status(F, view, status)
  emit('filing.status', {id = redis.call('HGET', F, 'id'), view = view, status = status, validated = validated_roles(F)})
end

-- bump records a change of MIIT's state: a new version, and the event that
-- brings it to the provider at due.
local function bump(F, due, status)
  local v = redis.call('HINCRBY', F, 'version', 1)
  local id = redis.call('HGET', F, 'id')
  schedule(KEYS[1], KEYS[2], due, 'miit.result', {id, tostring(v), status, validated_roles(F)})
  emit_status(F, 'miit', status)
  return v
end

-- new_code picks the first candidate that is no live code and makes it live.
local function new_code(candidates)
  for _, c in ipairs(candidates) do
    if redis.call('SISMEMBER', KEYS[3], c) == 0 then
      redis.call('SADD', KEYS[3], c)
      return c
    end
  end
  return nil
end

local function live(F, now)
  return redis.call('HGET', F, 'status') == 'pending_validation' and now < tonumber(redis.call('HGET', F, 'deadline'))
end
`
