-- The library of miit's scripts, put after the core prelude and before each
-- script (lua.go). Go writes before it JOB, the kinds of miit's jobs
-- (JOB.code is 'miit.code'), and MAX_FAILURES and MAX_RESENDS.
--
-- The KEYS of a script that uses it start with these eight (Service.libKeys);
-- its own keys follow, from KEYS[9]. A script that sends messages names
-- theirs by position (gateway.Outgoing's k), and so does one that issues
-- codes (a key per candidate); G names the keys the gateway's library
-- writes (gateway.lua).
local due_key, seq_key, status_key, events_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local phones_key, clock_key, faults_key, codes_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local G = {due = due_key, seq = seq_key, events = events_key, phones = phones_key}

-- An order is a hash (F, a filing key). Its subjects — the required
-- people, one per distinct mobile number — are the fields s<i>.phone,
-- s<i>.roles, s<i>.certs (',last6,…,'), s<i>.code, s<i>.failures,
-- s<i>.resends and s<i>.validated.
--
-- A script reads an order once, whole (order(F): a table of its fields,
-- false for a field it lacks, as HGET answers) or in part (order_fields,
-- below), and writes it through
-- set_order and incr_order, which write the hash and the table alike: every
-- read and write of an order in these scripts goes through them, so that
-- the table is the hash as it stands.
local orders = {}
local ABSENT = {__index = function() return false end}

local function order(F)
  local o = orders[F]
  if not o then
    o = setmetatable({}, ABSENT)
    local flat = redis.call('HGETALL', F)
    for i = 1, #flat, 2 do o[flat[i]] = flat[i + 1] end
    orders[F] = o
  end
  return o
end

-- A script that mostly reads a few fields of an order may name them before
-- it reads the order (order_fields(F, fields)): they are read in one HMGET,
-- which costs Redis less than the HGETALL of the whole order and Lua less
-- than the table of its every field. The first field it reads beyond them
-- reads the order whole, as order(F) does, so that the table still answers
-- every field as the hash holds it, false for one it lacks. What the table
-- holds already is the hash as it stands (set_order and incr_order wrote
-- both), so the whole order, read later, writes the same values over it.
-- A script that reads an order whole at once gains nothing by it.
local function order_fields(F, fields)
  if orders[F] then return end
  local o = setmetatable({}, {__index = function(t, field)
    setmetatable(t, ABSENT)
    local flat = redis.call('HGETALL', F)
    for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
    return t[field]
  end})
  local values = redis.call('HMGET', F, unpack(fields))
  for i, field in ipairs(fields) do o[field] = values[i] end
  orders[F] = o
end

-- set_order writes to order F the fields and values of its other
-- arguments (field, value, field, value…), in one HSET. A number goes as
-- int writes it (as every number a script hands Redis: Redis writes one
-- it is given with snprintf, at several times the cost).
local function set_order(F, ...)
  local kv = {...}
  for i = 2, #kv, 2 do
    if type(kv[i]) == 'number' then kv[i] = int(kv[i]) end
  end
  redis.call('HSET', F, unpack(kv))
  local o = orders[F]
  if not o then return end
  for i = 1, #kv, 2 do o[kv[i]] = kv[i + 1] end
end

-- incr_order adds by (an integer, written as a string: '1') to the integer
-- field of order F and answers the sum.
local function incr_order(F, field, by)
  local v = redis.call('HINCRBY', F, field, by)
  if orders[F] then orders[F][field] = int(v) end
  return v
end

local function nsubj(F)
  return tonumber(order(F).nsubj or '0')
end

-- sfield answers the name of the field field of subject i (from 1):
-- 's<i>.<field>'. The prefixes of the first subjects are written out:
-- Lua writes a number it concatenates with sprintf.
local SUBJECT_PREFIXES = {'s1.', 's2.', 's3.', 's4.'}
local function sfield(i, field)
  return (SUBJECT_PREFIXES[i] or 's' .. int(i) .. '.') .. field
end

local function subj(F, i, field)
  return order(F)[sfield(i, field)]
end

-- same_phones tells whether phones are the numbers of order F's subjects,
-- in order.
local function same_phones(F, phones)
  if nsubj(F) ~= #phones then return false end
  for i, p in ipairs(phones) do
    if subj(F, i, 'phone') ~= p then return false end
  end
  return true
end

-- count_status records that order F moves to MIIT status st, in the count
-- of orders by status (smsim_orders): call it before setting the status.
local function count_status(F, st)
  local old = order(F).status
  if old == st then return end
  if old then redis.call('HINCRBY', status_key, old, '-1') end
  redis.call('HINCRBY', status_key, st, '1')
end

-- An order is under way until it ends: approved, returned, rejected or
-- canceled. touch_order bounds the life of order F after a script wrote it
-- (the prelude's keep and retire): kept while under way, retained once
-- ended.
local ENDED = {approved = true, returned = true, rejected = true, canceled = true}

local touched = {}

local function touch_order(F)
  local done = ENDED[order(F).status] or false
  if touched[F] == done then return end -- bounded so already by this script
  touched[F] = done
  if done then retire(F) else keep(F) end
end

-- What a script cannot reach, because its keys are not in KEYS, it leaves
-- to miit's tidy.lua, which its caller runs next: a code of an order to
-- free (later_free), a number whose index of orders may retire
-- (later_retire: an order of it ended, or left it). finish adds them to the
-- reply, 'tidy:free:<code>:<order id>' and 'tidy:retire:<phone>'.
local tidy = {}

local function later_free(code, id)
  tidy[#tidy + 1] = 'tidy:free:' .. code .. ':' .. id
end

local function later_retire(phone)
  tidy[#tidy + 1] = 'tidy:retire:' .. phone
end

-- real_ms answers Redis's real time, in ms.
local function real_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- keep_others has the indexes of the other numbers of order F, under way,
-- live as long as the order (phone's own, its caller keeps). They are not
-- the script's keys: it leaves each to its caller ('tidy:keep:<phone>',
-- which gives it the namespace's TTL, one command), at most once in half
-- the namespace's TTL for each subject (its field kept, real ms, which the
-- sync sets).
local function keep_others(F, phone)
  if BOUNDS.live <= 0 then return end
  local now
  for si = 1, nsubj(F) do
    local p = subj(F, si, 'phone')
    if p ~= phone then
      now = now or real_ms()
      if now - tonumber(subj(F, si, 'kept') or '0') > BOUNDS.live / 2 then
        tidy[#tidy + 1] = 'tidy:keep:' .. p
        set_order(F, sfield(si, 'kept'), int(now))
      end
    end
  end
end

-- ended notes what order F, which just ended, leaves behind: its live
-- codes, and its numbers, whose index may retire.
local function ended(F)
  local id = order(F).id
  for i = 1, nsubj(F) do
    local c = subj(F, i, 'code')
    if c and c ~= '' and subj(F, i, 'validated') ~= '1' then later_free(c, id) end
    later_retire(subj(F, i, 'phone'))
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
  emit_now(KIND.filing_status, {id = order(F).id, view = view, status = status, validated = validated_roles(F)})
end

-- apply_result brings MIIT's state of version v to the provider at the
-- time at: its status unless the provider shows a newer one (a customer's
-- cancel is known at once), its validated roles unless newer ones arrived.
local function apply_result(F, v, status, validated, at)
  v = tonumber(v)
  local o = order(F)
  local changes = {}
  if v > tonumber(o.prov_version) then
    changes = {'prov_version', int(v), 'prov_status', status}
  end
  if v > tonumber(o.prov_flags_version or '0') then
    changes[#changes + 1] = 'prov_flags_version'
    changes[#changes + 1] = int(v)
    changes[#changes + 1] = 'prov_validated'
    changes[#changes + 1] = validated
  end
  if #changes > 0 then
    set_order(F, unpack(changes))
    emit(events_key, at, KIND.filing_status, {id = o.id, view = 'provider', status = o.prov_status, validated = o.prov_validated})
  end
end

-- bump records a change of MIIT's state: a new version, which reaches the
-- provider at due — when due is now (a result sync lag of zero), at the end
-- of the script (finish), after what the script itself notes on the event
-- log; else by a job then.
local due_results = {}
local function bump(F, due, status)
  local v = incr_order(F, 'version', '1')
  local id = order(F).id
  emit_status(F, 'miit', status)
  if due_limit and due <= due_limit then
    due_results[#due_results + 1] = {F, v, status, validated_roles(F)}
  else
    schedule(due_key, seq_key, due, JOB.result, {id, v, status, validated_roles(F)})
  end
  return v
end

-- A live code has a key (core.Keyspace.Code): '<deadline>|<order id>',
-- so that no two live codes are equal. It lives until the clock reaches
-- the order's deadline, in real time at the clock's scale (keep_until; miit's
-- RetimeCodes sets it again when the scale changes), and is deleted when the
-- code validates, is replaced or its order ends (free_code). A code whose
-- deadline has passed is free whatever its key says; one moved from a store
-- written before ('|': no deadline, no order) is live until freed.
--
-- The live codes are listed in codes_key, each scored by its deadline, for
-- RetimeCodes to find them without reading the whole database. A code
-- leaves it when it is freed; when a code made live is a multiple of
-- CODES_PRUNE_EVERY (one in 64, the codes being drawn at random), the
-- codes whose deadline has passed leave it too: their keys expire by then,
-- or RetimeCodes finds them gone.
local CODES_PRUNE_EVERY = 64
local function code_free_at(v, now)
  local deadline = tonumber(string.match(v, '^(%d*)|'))
  return deadline ~= nil and deadline <= now
end

-- new_code makes live, for order id, the first of candidates (o.candidates,
-- their keys at the positions o.code_keys) that is no live code, until
-- deadline (ms, simulated); it answers it and its index. The candidates
-- after the first may come as a text, TEXTS[o.more] (miit's
-- moreCandidates: their codes, keys and messages), decoded only when the
-- first is live.
local function new_code(o, id, now, deadline)
  local j = 1
  while true do
    if not o.candidates[j] and o.more then
      local more = cjson.decode(TEXTS[o.more])
      o.more = nil
      for k, c in ipairs(more.candidates) do
        o.candidates[j + k - 1], o.code_keys[j + k - 1] = c, more.code_keys[k]
        if o.texts and more.texts then o.texts[j + k - 1] = more.texts[k] end
      end
    end
    local c = o.candidates[j]
    if not c then return nil end
    local key = KEYS[o.code_keys[j]]
    local v = redis.call('GET', key)
    if not v or code_free_at(v, now) then
      redis.call('SET', key, int(deadline) .. '|' .. id)
      keep_until(key, now, deadline, true)
      redis.call('ZADD', codes_key, int(deadline), c)
      if tonumber(c) % CODES_PRUNE_EVERY == 0 then redis.call('ZREMRANGEBYSCORE', codes_key, '-inf', int(now)) end
      return c, j
    end
    j = j + 1
  end
end

-- free_code deletes the key key of code when order id holds it (or an
-- order unknown, the code moved from a store written before), and takes
-- the code out of the live ones unless another order holds it.
local function free_code(key, code, id)
  local v = redis.call('GET', key)
  local holder = v and string.match(v, '|(.*)$')
  if v and holder ~= id and holder ~= '' then return end -- another order's now
  if v then redis.call('DEL', key) end
  redis.call('ZREM', codes_key, code)
end

local function live(F, now)
  local o = order(F)
  return o.status == 'pending_validation' and now < tonumber(o.deadline)
end

-- window is the length of the validation window of order F (ms).
local function window(F)
  local o = order(F)
  return tonumber(o.deadline) - tonumber(o.codes_sent_at)
end

-- A person at MIIT is found by mobile number and the last six characters of
-- a certificate number, through the index of orders by number (who_key). A
-- script that acts on a person is passed the index and every order it
-- lists (ids, read before the script) in KEYS, so that Redis Cluster can
-- run it on one shard, and answers 'retry' when index_changed: the index
-- no longer lists exactly those orders. index_changed also answers what
-- the index lists, which a script answers with its 'retry' so that its
-- caller runs it again at once, without reading the index itself.
local function index_changed(who_key, ids)
  local members = redis.call('SMEMBERS', who_key)
  if #members ~= #ids then return true, members end
  local want = {}
  for _, id in ipairs(ids) do want[id] = true end
  for _, m in ipairs(members) do
    if not want[m] then return true, members end
  end
  return false, members
end

-- retry_reply answers head followed by the ids the index lists.
local function retry_reply(head, members)
  for _, m in ipairs(members) do head[#head + 1] = m end
  return head
end

local function matches(F, si, phone, last6)
  return subj(F, si, 'phone') == phone and string.find(subj(F, si, 'certs'), ',' .. last6 .. ',', 1, true) ~= nil
end

-- finish answers reply after bringing to the provider the changes bump
-- found due at once, in order: every script that bumps or leaves something
-- to tidy returns through it. It adds what is left to tidy, then the
-- prelude's with_due_now adds the jobs due at once.
-- apply_due_results brings the provider the results that fell due at once
-- (result_sync_lag 0s): before a reply reads the provider's view.
local function apply_due_results()
  for _, r in ipairs(due_results) do
    apply_result(r[1], r[2], r[3], r[4], due_limit)
    touch_order(r[1])
  end
  due_results = {}
end

local function finish(reply)
  apply_due_results()
  for _, t in ipairs(tidy) do reply[#reply + 1] = t end
  tidy = {}
  return with_due_now(reply)
end

-- sync_outs answers the messages a sync plan (miit.syncArgs) may send: the
-- code message of each candidate of each subject (one given as the first's
-- but for its body and code goes to the same phone, and is left out).
local function sync_outs(a, outs)
  for _, sj in ipairs(a.subjects) do
    for _, texts in ipairs(sj.texts or {}) do
      for _, out in ipairs(texts) do outs[#outs + 1] = out end
    end
  end
  return outs
end

-- candidate_texts answers the code messages of candidate j of the subject
-- plan sj: sj.texts[j] as planned, or, given as {body, code} alone (Go's
-- sameAsFirst), the first candidate's with that body and code. Given the
-- code alone, the body is the first candidate's with its code, which it
-- holds once, written as this one (Go checked it is so). The first's texts
-- made in Go (out.t) tell its body and code: of them, another candidate's
-- takes the trail alone, and encodes the rest itself.
local function candidate_texts(sj, j)
  local t = sj.texts[j]
  if not t.code then return t end
  local outs = {}
  for k, first in ipairs(sj.texts[1]) do
    local out = {}
    for f, v in pairs(first) do out[f] = v end
    local body = t.body
    if not body then
      local at = string.find(first.body, first.code, 1, true)
      body = string.sub(first.body, 1, at - 1) .. t.code .. string.sub(first.body, at + #first.code)
    end
    out.body, out.code = body, t.code
    if first.t then
      out.t = nil
      if first.deliver then
        local d = {}
        for f, v in pairs(first.deliver) do d[f] = v end
        d.trail = TEXTS[first.t]
        out.deliver = d
      else
        out.trail = TEXTS[first.t]
      end
    end
    outs[k] = out
  end
  return outs
end

-- sync_order brings order F to MIIT at a.now (miit.syncArgs): each subject
-- gets a code (the first of its candidates that is no live code; the codes
-- are picked, then written with the order's new status in one step), texted
-- at once — the code message of that candidate, planned in Go and sent here
-- — or by a job at its code_due; the validation window runs to a.deadline.
-- An order that needs no one goes under review at once, its review due at
-- a.review_due. It answers, for each code texted here, {subject, pick,
-- statuses}: the candidate it picked and the statuses of its messages
-- delivered at once (gw_send).
local function sync_order(F, a)
  local sent = {}
  if order(F).status ~= 'unknown' then return sent end
  local now = a.now
  local id = order(F).id
  local n = nsubj(F)
  if n == 0 then
    count_status(F, 'under_review')
    set_order(F, 'status', 'under_review', 'validated_at', int(now))
    bump(F, a.result_due, 'under_review')
    schedule(due_key, seq_key, a.review_due, JOB.review, {id})
    touch_order(F)
    return sent
  end
  local codes, picks = {}, {}
  for i = 1, n do
    local code, j = new_code(a.subjects[i], id, now, a.deadline)
    if not code then error('no free code among the candidates') end
    codes[i], picks[i] = code, j
  end
  local v = tonumber(order(F).version or '0') + 1 -- written with the rest, in one HSET
  count_status(F, 'pending_validation')
  local fields = {'version', v, 'status', 'pending_validation', 'prov_status', 'pending_validation', 'prov_version', v,
    'codes_sent_at', int(now), 'deadline', int(a.deadline)}
  for i, code in ipairs(codes) do
    fields[#fields + 1] = sfield(i, 'code')
    fields[#fields + 1] = code
  end
  if n > 1 and BOUNDS.live > 0 then
    -- the indexes of its numbers are kept now (the submission's, the
    -- sync's): when, for keep_others
    local kept = int(real_ms())
    for i = 1, n do
      fields[#fields + 1] = sfield(i, 'kept')
      fields[#fields + 1] = kept
    end
  end
  set_order(F, unpack(fields))
  emit_status(F, 'miit', 'pending_validation')
  emit_status(F, 'provider', 'pending_validation')
  for i = 1, n do
    local sj, code, j = a.subjects[i], codes[i], picks[i]
    if sj.texts then
      local statuses = {}
      for k, out in ipairs(candidate_texts(sj, j)) do statuses[k] = gw_send(G, out) end
      sent[#sent + 1] = {subject = i, pick = j, statuses = statuses}
    elseif not sj.lost then
      schedule(due_key, seq_key, sj.code_due, JOB.code, {id, i, subj(F, i, 'phone'), code, a.window})
    end
  end
  schedule(due_key, seq_key, a.deadline, JOB.expire, {id})
  if a.autoresend then schedule(due_key, seq_key, a.autoresend, JOB.autoresend, {id}) end
  touch_order(F)
  return sent
end
