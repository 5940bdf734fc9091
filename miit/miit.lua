-- The library of miit's scripts, put after the core prelude and before each
-- script (lua.go). Go writes before it JOB, the kinds of miit's jobs
-- (JOB.code is 'miit.code'), and MAX_FAILURES and MAX_RESENDS.
--
-- The KEYS of a script that uses it start with these five; its own keys
-- follow, from KEYS[6].
local due_key, seq_key, codes_key, status_key, events_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- An order is a hash (F, a filing key). Its subjects — the required
-- people, one per distinct mobile number — are the fields s<i>.phone,
-- s<i>.roles, s<i>.certs (',last6,…,'), s<i>.code, s<i>.failures,
-- s<i>.resends and s<i>.validated.
local function nsubj(F)
  return tonumber(redis.call('HGET', F, 'nsubj') or '0')
end

local function subj(F, i, field)
  return redis.call('HGET', F, 's' .. i .. '.' .. field)
end

-- count_status records that order F moves to MIIT status st, in the count
-- of orders by status (smsim_orders): call it before setting the status.
local function count_status(F, st)
  local old = redis.call('HGET', F, 'status')
  if old == st then return end
  if old then redis.call('HINCRBY', status_key, old, -1) end
  redis.call('HINCRBY', status_key, st, 1)
end

local function kill_codes(F)
  for i = 1, nsubj(F) do
    local c = subj(F, i, 'code')
    if c and c ~= '' then redis.call('SREM', codes_key, c) end
  end
end

local function validated_roles(F)
  local out = {}
  for i = 1, nsubj(F) do
    if subj(F, i, 'validated') == '1' then out[#out + 1] = subj(F, i, 'roles') end
  end
  return table.concat(out, ',')
end

-- emit_now appends an event at the time the script acts (due_limit).
local function emit_now(kind, data)
  emit(events_key, due_limit, kind, data)
end

local function emit_status(F, view, status)
  emit_now(KIND.filing_status, {id = redis.call('HGET', F, 'id'), view = view, status = status, validated = validated_roles(F)})
end

-- bump records a change of MIIT's state: a new version, and the job that
-- brings it to the provider at due.
local function bump(F, due, status)
  local v = redis.call('HINCRBY', F, 'version', 1)
  local id = redis.call('HGET', F, 'id')
  schedule(due_key, seq_key, due, JOB.result, {id, v, status, validated_roles(F)})
  emit_status(F, 'miit', status)
  return v
end

-- new_code picks the first candidate that is no live code and makes it live.
local function new_code(candidates)
  for _, c in ipairs(candidates) do
    if redis.call('SISMEMBER', codes_key, c) == 0 then
      redis.call('SADD', codes_key, c)
      return c
    end
  end
  return nil
end

local function live(F, now)
  return redis.call('HGET', F, 'status') == 'pending_validation' and now < tonumber(redis.call('HGET', F, 'deadline'))
end

-- window is the length of the validation window of order F (ms).
local function window(F)
  return tonumber(redis.call('HGET', F, 'deadline')) - tonumber(redis.call('HGET', F, 'codes_sent_at'))
end

-- A person at MIIT is found by mobile number and the last six characters of
-- a certificate number, through the index of orders by number (who_key). A
-- script that acts on a person is passed the index and every order it
-- lists (ids, read before the script) in KEYS, so that Redis Cluster can
-- run it on one shard, and answers 'retry' when index_changed: the index
-- no longer lists exactly those orders.
local function index_changed(who_key, ids)
  local members = redis.call('SMEMBERS', who_key)
  if #members ~= #ids then return true end
  local want = {}
  for _, id in ipairs(ids) do want[id] = true end
  for _, m in ipairs(members) do
    if not want[m] then return true end
  end
  return false
end

local function matches(F, si, phone, last6)
  return subj(F, si, 'phone') == phone and string.find(subj(F, si, 'certs'), ',' .. last6 .. ',', 1, true) ~= nil
end
