-- The library of the scripts that send and deliver messages: gateway's own
-- and those of other packages that send as they act (miit's submit, sync,
-- resend…), so that a message due at once is delivered in the script that
-- sends it (gateway.LuaLib; Go writes GW_JOB_DELIVER, the kind of the
-- delivery job, and GW_HELD, the mark of a delivery an outage holds,
-- before it).
--
-- A message is planned in Go (gateway.Outgoing): its fields, its trail, and
-- — due at once — where it goes. Its keys are named by their positions in
-- KEYS (out.k: msg, profile, script, folder). The plan assumed the phone's
-- profile as stored (out.profile, '' when none) and no fault script:
-- gw_stale_phone checks both before the script writes anything.
--
-- A plan may come with its texts made in Go (out.t, gateway.Outgoing's
-- Texts): TEXTS[out.t] is its trail, TEXTS[out.t + 1] the data of its
-- sms.sent event, and, delivered at once, TEXTS[out.t + 2] and
-- TEXTS[out.t + 3] its record in the folder and the data of its outcome's
-- event, each up to the value of its seq, which the script numbers: the
-- script appends it and '"}'. Those texts are not in args (no trail
-- there), and cost Redis's Lua neither cjson's encoding nor the decoding
-- of their JSON. Without them the script encodes its texts itself.
--
-- G names the namespace's keys these functions write: G.due and G.seq (the
-- scheduler's due set and sequence hash), G.events (the event log),
-- G.phones (the numbers the namespace knows, by when each was last written
-- to: know_phone).

local GW_OUTCOMES = {delivered = KIND.sms_delivered, blocked = KIND.sms_blocked, failed = KIND.sms_failed}

-- What a script did once needs no doing again: the folders it retired
-- (each written before, and by nothing that clears a lifetime since), the
-- numbers it recorded in G.phones.
local gw_retired, gw_known = {}, {}

-- gw_stale_phone answers the number of the first of outs whose phone is no
-- longer as its plan assumed, or nil. It reads each phone's profile and
-- fault script once, however many of outs go to it.
local function gw_stale_phone(outs)
  local profiles, scripted = {}, {}
  for _, out in ipairs(outs) do
    local pk, sk = out.k.profile, out.k.script
    if profiles[pk] == nil then profiles[pk] = redis.call('GET', KEYS[pk]) or '' end
    if profiles[pk] ~= out.profile then return out.phone end
    if scripted[sk] == nil then scripted[sk] = redis.call('LLEN', KEYS[sk]) > 0 end
    if scripted[sk] then return out.phone end
  end
  return nil
end

-- gw_stale_reply is the refusal of a script whose plan of phone is stale.
local function gw_stale_reply(phone)
  return {err = 'STALE phone ' .. phone}
end

-- gw_fields answers the fields of the planned message out, with its status
-- and its trail, as HSET takes them (field, value, field, value…): a list
-- made in one step, which costs Redis's Lua less than a table of the fields
-- by name turned into one (about 5% of the instructions of a message sent
-- and delivered at once).
local function gw_fields(out, status, trail)
  return {'id', out.id, 'phone', out.phone, 'sender', out.sender, 'body', out.body, 'code', out.code,
    'status', status, 'sent_at', int(out.sent_at), 'trail', trail, 'fate', '', 'step', '',
    'duplicate_of', out.duplicate_of}
end

-- gw_deliver delivers the queued message msg_key to its folder (folder_key)
-- as d decided (gateway's delivery: status, folder, reason, at, inbox_limit,
-- trail, trail_if_full); a message bound for a full inbox fails instead
-- (inbox_full). The outcome goes on the event log in the same step, so that
-- the live feed sees a delivery exactly when the store holds it. The
-- message, finished, is retired, and so is the folder it went to, which
-- keeps its newest bounds.inbox_max messages. It leaves the phone's
-- travelling set (travel_key) and, failed, joins its failed set
-- (failed_key), which keeps as many. It answers the status, or '' when the
-- message was no longer queued.
--
-- sent is the message when gw_send sends it in this script (its plan,
-- out): it is stored here, queued no more, with its outcome; it is in no
-- travelling set, and was not kept.
local function gw_deliver(G, msg_key, folder_key, d, travel_key, failed_key, sent)
  local m
  if sent then
    m = {id = sent.id, phone = sent.phone, sender = sent.sender, body = sent.body, code = sent.code, sent_at = int(sent.sent_at)}
  else
    local f = redis.call('HMGET', msg_key, 'status', 'id', 'phone', 'sender', 'body', 'code', 'sent_at')
    if f[1] ~= 'queued' then return '' end
    m = {id = f[2], phone = f[3], sender = f[4], body = f[5], code = f[6] or '', sent_at = f[7]}
  end
  local tx = sent and sent.t -- its texts made in Go, or nil
  local status, folder, reason, trail = d.status, d.folder, d.reason, d.trail
  if tx then trail = TEXTS[tx] end
  if folder == 'inbox' and d.inbox_limit > 0 and redis.call('ZCARD', folder_key) >= d.inbox_limit then
    status, folder, reason, trail = 'failed', '', 'inbox_full', d.trail_if_full
    tx = nil -- its texts are of the delivery planned
  end
  local w -- the fields written, as HSET takes them
  if sent then
    w = gw_fields(sent, status, trail)
  else
    w = {'status', status, 'trail', trail}
  end
  if reason ~= '' then
    local n = #w
    w[n + 1], w[n + 2] = 'reason', reason
  end
  local seq, delivered = '', ''
  if folder ~= '' then
    seq = int(redis.call('HINCRBY', G.seq, 'delivery', '1'))
    delivered = int(d.at)
    -- the folder holds the message as the phone shows it, read in one step
    local record
    if tx then
      record = TEXTS[tx + 2] .. seq .. '"}'
    else
      record = cjson.encode({id = m.id, phone = m.phone, sender = m.sender, body = m.body, code = m.code,
        sent_at = m.sent_at, delivered_at = delivered, seq = seq})
    end
    redis.call('ZADD', folder_key, seq, record)
    if BOUNDS.inbox_max > 0 then redis.call('ZREMRANGEBYRANK', folder_key, '0', int(-BOUNDS.inbox_max - 1)) end
    if not gw_retired[folder_key] then
      retire(folder_key)
      gw_retired[folder_key] = true
    end
    local n = #w
    w[n + 1], w[n + 2], w[n + 3], w[n + 4], w[n + 5], w[n + 6] = 'folder', folder, 'delivered_at', delivered, 'seq', seq
  end
  redis.call('HSET', msg_key, unpack(w))
  if sent and BOUNDS.retain <= 0 then
    keep_new(msg_key) -- no retention: it lives as it would have queued
  else
    retire(msg_key)
  end
  if not sent then
    redis.call('ZREM', travel_key, m.id)
    if not gw_known[m.phone] then -- written to again: it stays among the known numbers for the retention
      know_phone(G.phones, m.phone)
      gw_known[m.phone] = true
    end
  end
  if status == 'failed' then
    redis.call('ZADD', failed_key, int(redis.call('HINCRBY', G.seq, 'failure', '1')), m.id)
    if BOUNDS.inbox_max > 0 then redis.call('ZREMRANGEBYRANK', failed_key, '0', int(-BOUNDS.inbox_max - 1)) end
    retire(failed_key)
  end
  local data
  if tx then
    data = TEXTS[tx + 3] .. seq .. '"}'
  else
    data = cjson.encode({id = m.id, phone = m.phone, sender = m.sender, body = m.body, code = m.code,
      status = status, folder = folder, reason = reason, sent_at_ms = m.sent_at, delivered_at_ms = delivered, seq = seq})
    data = string.sub(data, 1, -2) .. ',"trail":' .. trail .. '}'
  end
  emit(G.events, d.at, GW_OUTCOMES[status], data)
  return status
end

-- gw_send notes the planned message out on the event log, sent; then
-- delivers it at once (out.deliver), so that it never travels, or stores
-- it queued and schedules its delivery at out.due, in the phone's
-- travelling set until then. It answers the status of a delivery made at
-- once, '' when the delivery comes later or the message was stored before
-- (a retried job sends it twice).
local function gw_send(G, out)
  local msg_key = KEYS[out.k.msg]
  if redis.call('EXISTS', msg_key) == 1 then return '' end
  if not gw_known[out.phone] then
    know_phone(G.phones, out.phone)
    gw_known[out.phone] = true
  end
  -- delivered at once, its sms.sent is told with its outcome (emit's hold)
  local hold = out.deliver ~= nil
  if out.t then
    emit(G.events, out.sent_at, KIND.sms_sent, TEXTS[out.t + 1], hold)
  else
    emit(G.events, out.sent_at, KIND.sms_sent, {id = out.id, phone = out.phone, sender = out.sender, body = out.body,
      code = out.code, status = 'queued', sent_at_ms = int(out.sent_at), due_ms = int(out.due), duplicate_of = out.duplicate_of}, hold)
  end
  if out.deliver then return gw_deliver(G, msg_key, KEYS[out.k.folder], out.deliver, KEYS[out.k.travelling], KEYS[out.k.failed], out) end
  local trail = out.trail
  if out.t then trail = TEXTS[out.t] end
  redis.call('HSET', msg_key, unpack(gw_fields(out, 'queued', trail)))
  keep_new(msg_key)
  redis.call('ZADD', KEYS[out.k.travelling], int(redis.call('HINCRBY', G.seq, 'travel', '1')), out.id)
  keep(KEYS[out.k.travelling])
  local job_args = {out.id, out.phone}
  if out.held then job_args[3] = GW_HELD end -- an outage holds it (gateway.ReleaseHeld)
  schedule(G.due, G.seq, out.due, GW_JOB_DELIVER, job_args)
  return ''
end
