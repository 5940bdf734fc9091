-- The prelude of every script of the store (core.Prelude, put before a
-- script by core.NewScript). Go writes the registry's constants before it:
-- KIND, the kinds of events by their Lua names (KIND.sms_delivered is the
-- kind sms.delivered), and EVENT_LOG_LEN, about how many events the log
-- keeps.
--
-- A script names its keys at its top (local clock_key = KEYS[1]); Redis
-- Cluster needs every key a script touches in KEYS. Its arguments come as
-- one JSON object in ARGV[1], read here: a script reads args.phone,
-- args.messages[i].status. Times are integers of milliseconds, ids are
-- strings.
--
-- KEYS and args are locals, which a script's run form (run.lua) sets
-- anew for each job it carries out: the scripts read them, never Redis's
-- KEYS and ARGV themselves.
local KEYS = KEYS
local args = cjson.decode(ARGV[1])

-- TEXTS are the script's arguments after its first, each a string as Go
-- gave it (a core.TextsAppender's texts, then core.Script.RunWith's more;
-- TEXTS[2] is the first): texts a script stores or tells as they are,
-- never decoded. A script's run form (run.lua) sets them anew for each
-- job, from the job's own texts.
local TEXTS = ARGV

-- int writes an integer (a time in ms, a count) as Go and Redis read one:
-- digits, never an exponent, whatever Lua and Redis would make of a
-- number. Scripts hand Redis strings, never numbers: Redis writes a number
-- given to redis.call with snprintf('%.17g'), at about three times int's
-- cost ('1', not 1). It remembers the last number it wrote: a script
-- writes the same time again and again (a message's, its events').
local int_n, int_s = nil, nil
local function int(n)
  if n ~= int_n then int_n, int_s = n, string.format('%d', n) end
  return int_s
end

-- key_list answers KEYS[from], KEYS[from + 1], … to the last; key_groups
-- answers the same keys in groups of size: with KEYS holding two fixed
-- keys, then a message and its folder for each message, key_groups(3, 2)[i]
-- is {message, folder} of the i-th message.
local function key_list(from)
  local out = {}
  for i = from, #KEYS do out[#out + 1] = KEYS[i] end
  return out
end

local function key_groups(from, size)
  local out = {}
  for i = from, #KEYS, size do
    local g = {}
    for j = 0, size - 1 do g[j + 1] = KEYS[i + j] end
    out[#out + 1] = g
  end
  return out
end

-- A job is stored as one member of the scheduler's due set (and, once
-- claimed, of its in-flight set): "seq|due|kind|arg|arg…", seq zero-padded
-- to twelve digits, due in simulated ms, no field holding '|'. This is the
-- one Lua place of that form; core.NewJob and core.ParseJob are its Go
-- side, and a test holds the two together.
local function job_encode(seq, due, kind, job_args)
  local n = int(seq)
  local f = {string.rep('0', 12 - #n) .. n, type(due) == 'string' and due or int(due), kind}
  for _, a in ipairs(job_args) do
    if type(a) == 'number' then a = int(a) end
    if string.find(a, '|', 1, true) then error('job ' .. kind .. ': an argument holds |: ' .. a) end
    f[#f + 1] = a
  end
  return table.concat(f, '|')
end

-- job_decode reads a stored job: {seq = '000000000012', due = 1777593600000,
-- kind = 'miit.sync', args = {…}}.
local function job_decode(member)
  local f, from = {}, 1
  while true do
    local bar = string.find(member, '|', from, true)
    if not bar then
      f[#f + 1] = string.sub(member, from)
      break
    end
    f[#f + 1] = string.sub(member, from, bar - 1)
    from = bar + 1
  end
  local due = tonumber(f[2])
  if #f < 3 or not due then error('malformed job ' .. member) end
  local job_args = {}
  for i = 4, #f do job_args[#job_args + 1] = f[i] end
  return {seq = f[1], due = due, kind = f[3], args = job_args}
end

-- schedule adds a job of kind with job_args (strings or integers), due at
-- due (ms), to the due set due_key, numbered by the field job of the hash
-- seq_key (core.Scheduler's keys), and answers its stored form.
--
-- A script that sets due_limit (ms) finds in due_now every job it scheduled
-- due by then; with_due_now adds them to its reply, and its caller carries
-- them out at once (Scheduler.RunNow), so that a lag of zero is done before
-- the answer ("due means done").
--
-- with_due_now also tells, as its last item ('next_due:<ms>'), when the
-- earliest job the script scheduled for later falls due, for the caller's
-- scheduler loop to look then (Scheduler.RunNow reads it).
local due_limit = nil
local due_now = {}
local next_due = nil
local first_scheduled = nil -- the earliest of all (RUN)

local function schedule(due_key, seq_key, due, kind, job_args)
  local at = math.floor(tonumber(due))
  local at_s = int(at)
  local m = job_encode(redis.call('HINCRBY', seq_key, 'job', '1'), at_s, kind, job_args)
  redis.call('ZADD', due_key, at_s, m)
  if not first_scheduled or at < first_scheduled then first_scheduled = at end
  if due_limit and at <= due_limit then
    due_now[#due_now + 1] = m
  elseif not next_due or at < next_due then
    next_due = at
  end
  return m
end

-- A job's script that the scheduler sends in one round trip with the
-- scripts of the jobs after it (core.Scheduler.HandleSteps) is given
-- args.run = {key, n, due, ttl}: the position in KEYS of the run's mark
-- (core.Keyspace.SchedRun), the script's place in the run (from 1), its
-- job's due time (simulated ms), and how long the mark lives (real ms). The
-- scripts of a run must do what they would one after another. So such a
-- script begins with
--   local refused = run_refusal() if refused then return refused end
-- which refuses it, before it writes anything, when the script before it
-- in the run did not come to its end (it refused, failed, or was not run),
-- or when the run scheduled a job due at or before this one: the caller
-- carries the job out again after those. A script that comes to its end
-- through with_due_now writes the mark there: its place, and the earliest
-- due time of what the run has scheduled so far.
--
-- The scripts of a run's jobs go as one call of the script's run form
-- (run.lua), which carries the jobs out one after another and writes the
-- mark once, after the last that came to its end: run_form is true there,
-- run_in is what the jobs before this one in the call left (nil for the
-- first, which reads the mark of the call before), and with_due_now leaves
-- run_out.
local RUN = args.run
local run_first = nil -- the earliest due time the scripts before this one scheduled
local run_form, run_in, run_out = false, nil, nil

local function run_refusal()
  if not RUN or RUN.n <= 1 then return nil end
  local n, first
  if run_in then
    n, first = run_in.n, run_in.first
  else
    n, first = string.match(redis.call('GET', KEYS[RUN.key]) or '', '^(%d+):(%d*)$')
  end
  if tonumber(n) ~= RUN.n - 1 then
    return {err = 'RUN after: the job before it in the run did not come to its end'}
  end
  run_first = tonumber(first)
  if run_first and run_first <= RUN.due then
    return {err = 'RUN early: the run scheduled a job due at or before it'}
  end
  return nil
end

local function with_due_now(reply)
  for _, m in ipairs(due_now) do reply[#reply + 1] = m end
  if next_due then reply[#reply + 1] = 'next_due:' .. int(next_due) end
  if RUN then
    local first = run_first
    if first_scheduled and (not first or first_scheduled < first) then first = first_scheduled end
    local mark = int(RUN.n) .. ':'
    if first then mark = mark .. int(first) end
    if run_form then
      run_out = {n = RUN.n, first = first, mark = mark}
    else
      redis.call('SET', KEYS[RUN.key], mark, 'PX', int(RUN.ttl))
    end
  end
  return reply
end

-- emit appends an event of kind (a KIND) to the event log events_key, at
-- the simulated time at (ms). data is a table, encoded here, or JSON text.
--
-- It publishes the event too, on the namespace's live channel (the log's
-- key and ':live'), from which the watchers of each process are fed
-- (core.Subscriber): id, at, kind and data, a line each. It answers the
-- event's id.
--
-- Where PUBLISH answers every listener of a channel (args.bounds.unheard:
-- one Redis or the embedded store, not a cluster, whose nodes count only
-- their own), a script publishes no more on a channel once an event there
-- reached nobody: no one can start listening while a script runs, so the
-- rest would reach nobody too. A listener that starts later reads the log.
--
-- emit(…, true) holds the event back, to be published with the next
-- event the script emits, in one message, the two separated by the ASCII
-- record separator (the byte 30, which JSON never holds unescaped): a
-- message sent and delivered at once tells both events in one PUBLISH.
-- The script must emit another event after one it holds.
local unheard_counts = args.bounds ~= nil and args.bounds.unheard == true
local unheard, lives = {}, {} -- the channels reached by no one, each log's channel
local held, held_live = nil, nil -- an event held back (emit's hold) and its channel
local function publish(live, line)
  local heard = redis.call('PUBLISH', live, line)
  if heard == 0 and unheard_counts then unheard[live] = true end
end
local function publish_held() -- alone
  publish(held_live, held[1] .. '\n' .. held[2] .. '\n' .. held[3] .. '\n' .. held[4])
  held = nil
end
local function emit(events_key, at, kind, data, hold)
  if type(data) ~= 'string' then data = cjson.encode(data) end
  local id = redis.call('XADD', events_key, 'MAXLEN', '~', EVENT_LOG_LEN, '*', 'at', int(at), 'kind', kind, 'data', data)
  local live = lives[events_key]
  if not live then
    live = events_key .. ':live'
    lives[events_key] = live
  end
  if held and (hold or held_live ~= live) then publish_held() end
  if not unheard[live] then
    if hold then
      held, held_live = {id, int(at), kind, data}, live
    elseif held then
      -- one concatenation makes one string: the message, not each line first
      publish(live, held[1] .. '\n' .. held[2] .. '\n' .. held[3] .. '\n' .. held[4] .. '\30' ..
        id .. '\n' .. int(at) .. '\n' .. kind .. '\n' .. data)
      held = nil
    else
      publish(live, id .. '\n' .. int(at) .. '\n' .. kind .. '\n' .. data)
    end
  end
  return id
end

-- stale tells whether the clock (clock_key) or the fault profile
-- (faults_key) changed since the caller read them: args.expect is what it
-- read (core.Expect: the clock's anchor as stored, sim|real|scale|paused,
-- then the SHA-1 of the stored profile, which is stored before it; ''
-- each for what was not stored), as one string. A script that computed
-- with them begins with
--   if stale(clock_key, faults_key) then return STALE end
-- and its caller reads them afresh and tries again (core.Stale).
--
-- Where the clock's hash mirrored that string when the caller read it (its
-- field expect, which every writer of the anchor or the profile keeps:
-- mirror_expect), the caller gives it as the mirror has it, '=' first, and
-- the check is that one field, one read, unchanged. Else (a store an older
-- version wrote last) the check reads the anchor and the profile's SHA-1.
--
-- The jobs of a run's call (run.lua) were planned with the same clock and
-- profile, which no script that checks them writes: once one of them found
-- its expect fresh, the others with the same are not checked again.
local STALE = {err = 'STALE the clock or the fault profile changed since they were read'}
local fresh = nil -- an expect this script found fresh

-- faults_sha answers the SHA-1 of the profile stored at faults_key, '' when
-- none is: the 40 hex digits stored before its JSON (core.FaultStore), or,
-- for one stored whole by an older version, its JSON hashed here.
local function faults_sha(faults_key)
  local h = redis.call('GETRANGE', faults_key, '0', '39')
  if string.sub(h, 1, 1) == '{' then h = redis.sha1hex(redis.call('GET', faults_key)) end
  return h
end

local function stale(clock_key, faults_key)
  local e = args.expect
  if not e or e == fresh then return false end
  if string.byte(e, 1) == 61 then -- '=': as the clock's hash mirrors it
    if redis.call('HGET', clock_key, 'expect') ~= e then return true end
  else
    local c = redis.call('HMGET', clock_key, 'sim', 'real', 'scale', 'paused')
    if (c[1] or '') .. '|' .. (c[2] or '') .. '|' .. (c[3] or '') .. '|' .. (c[4] or '') .. '|' .. faults_sha(faults_key) ~= e then
      return true
    end
  end
  fresh = e
  return false
end

-- mirror_expect writes the clock's field expect: '=' and the expect of a
-- snapshot read now (sim, real, scale and paused as the hash holds them,
-- the profile's SHA-1 sha), which stale compares in one read. Every script
-- that writes the clock's anchor, or the profile while the clock is set,
-- calls it after.
local function mirror_expect(clock_key, sim, real, scale, paused, sha)
  redis.call('HSET', clock_key, 'expect', '=' .. sim .. '|' .. real .. '|' .. scale .. '|' .. paused .. '|' .. sha)
end

-- A script bounds the lifetime of the keys it writes (core.Bounds, given as
-- args.bounds; without them nothing expires): keep(key) after writing a key
-- of something still under way — it lives bounds.live from now, the
-- namespace's TTL, or for ever with none; retire(key) after writing a key of something finished
-- — an order that ended, a message delivered — it lives bounds.retain, the
-- retention; keep_until(key, now, at) for a key that matters until the
-- simulated time at (ms) and no longer: it lives until the clock reads at,
-- in real time at the clock's scale (bounds.scale), at most bounds.live,
-- and while the clock is paused as keep. keep_new(key), and
-- keep_until(key, now, at, true), are keep for a key the script has just
-- made or written whole (SET), which has no lifetime to clear. The namespace's long-lived keys
-- (the clock, the due set, the event log…) are kept by the process that
-- uses the namespace instead (core.Keyspace.LongLived). Lifetimes are real
-- time: what happens is still decided by the simulated clock.
local NO_BOUNDS = {retain = 0, live = 0, inbox_max = 0, scale = 0}
local BOUNDS = args.bounds or NO_BOUNDS

local function keep(key)
  if BOUNDS.live > 0 then
    redis.call('PEXPIRE', key, int(BOUNDS.live))
  else
    redis.call('PERSIST', key) -- retired before, under way again: a number with a new order
  end
end

local function keep_new(key)
  if BOUNDS.live > 0 then redis.call('PEXPIRE', key, int(BOUNDS.live)) end
end

local function retire(key)
  if BOUNDS.retain > 0 then redis.call('PEXPIRE', key, int(BOUNDS.retain)) end
end

local function keep_until(key, now, at, new)
  if BOUNDS.scale <= 0 then
    if new then return keep_new(key) end
    return keep(key)
  end
  local ms = math.ceil((at - now) / BOUNDS.scale)
  if ms < 1 then ms = 1 end
  if BOUNDS.live > 0 and ms > BOUNDS.live then ms = BOUNDS.live end
  if not (ms < 2 ^ 53) then
    -- a clock so slow that no lifetime says it (to infinity): as keep
    if new then return keep_new(key) end
    return keep(key)
  end
  redis.call('PEXPIRE', key, int(ms))
end

-- know_phone records in the sorted set of the numbers the namespace knows
-- (key) that phone was written to just now, scored by the real time (ms);
-- with a retention, the numbers not written to for longer than it leave
-- the set, as their keys have expired: each time the set reaches a
-- multiple of PHONES_PRUNE_EVERY numbers, with a number it did not hold.
-- Not at every call: the embedded store sorts the whole set to remove a
-- range of it, so a set of thousands taken in at every message would take
-- the store's time. The listing leaves out the numbers past the retention
-- that the set still holds. The real time is the caller's, args.real (Unix
-- ms), where it gives one, else Redis's, read once a script: its numbers
-- are written to at the same moment.
local PHONES_PRUNE_EVERY = 64
local known_at, known_at_s = nil, nil
local function know_phone(key, phone)
  if not known_at then
    if args.real then
      known_at = args.real
    else
      local t = redis.call('TIME')
      known_at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
    known_at_s = int(known_at)
  end
  local now = known_at
  local added = redis.call('ZADD', key, known_at_s, phone)
  if BOUNDS.retain > 0 and added == 1 and redis.call('ZCARD', key) % PHONES_PRUNE_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', now - BOUNDS.retain))
  end
end

-- json_list encodes the list t as a JSON array, also when it is empty
-- (cjson makes an empty table an object).
local function json_list(t)
  if #t == 0 then return '[]' end
  return cjson.encode(t)
end
