-- The library of the scripts that send and deliver messages: gateway's own
-- and those of other packages that send as they act (miit's submit, sync,
-- resend…), so that a message due at once is delivered in the script that
-- sends it (gateway.LuaLib; Go writes GW_JOB_DELIVER, the kind of the
-- delivery job, before it).
--
-- A message is planned in Go (gateway.Outgoing): its fields, its trail, and
-- — due at once — where it goes. Its keys are named by their positions in
-- KEYS (out.k: msg, profile, script, folder). The plan assumed the phone's
-- profile as stored (out.profile, '' when none) and no fault script:
-- gw_stale_phone checks both before the script writes anything.
--
-- G names the namespace's keys these functions write: G.due and G.seq (the
-- scheduler's due set and sequence hash), G.events (the event log),
-- G.phones (the set of known numbers).

local GW_OUTCOMES = {delivered = KIND.sms_delivered, blocked = KIND.sms_blocked, failed = KIND.sms_failed}

-- gw_stale_phone answers the number of the first of outs whose phone is no
-- longer as its plan assumed, or nil.
local function gw_stale_phone(outs)
  for _, out in ipairs(outs) do
    if (redis.call('GET', KEYS[out.k.profile]) or '') ~= out.profile or redis.call('LLEN', KEYS[out.k.script]) > 0 then
      return out.phone
    end
  end
  return nil
end

-- gw_stale_reply is the refusal of a script whose plan of phone is stale.
local function gw_stale_reply(phone)
  return {err = 'STALE phone ' .. phone}
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
local function gw_deliver(G, msg_key, folder_key, d, travel_key, failed_key)
  if redis.call('HGET', msg_key, 'status') ~= 'queued' then return '' end
  local status, folder, reason, trail = d.status, d.folder, d.reason, d.trail
  if folder == 'inbox' and d.inbox_limit > 0 and redis.call('ZCARD', folder_key) >= d.inbox_limit then
    status, folder, reason, trail = 'failed', '', 'inbox_full', d.trail_if_full
  end
  redis.call('HSET', msg_key, 'status', status, 'trail', trail)
  if reason ~= '' then redis.call('HSET', msg_key, 'reason', reason) end
  local seq, delivered = '', ''
  local f = redis.call('HMGET', msg_key, 'id', 'phone', 'sender', 'body', 'code', 'sent_at')
  if folder ~= '' then
    seq = int(redis.call('HINCRBY', G.seq, 'delivery', 1))
    delivered = int(d.at)
    -- the folder holds the message as the phone shows it, read in one step
    redis.call('ZADD', folder_key, seq, cjson.encode({id = f[1], phone = f[2], sender = f[3], body = f[4],
      code = f[5] or '', sent_at = f[6], delivered_at = delivered, seq = seq}))
    if BOUNDS.inbox_max > 0 then redis.call('ZREMRANGEBYRANK', folder_key, 0, int(-BOUNDS.inbox_max - 1)) end
    retire(folder_key)
    redis.call('HSET', msg_key, 'folder', folder, 'delivered_at', delivered, 'seq', seq)
  end
  retire(msg_key)
  redis.call('ZREM', travel_key, f[1])
  if status == 'failed' then
    redis.call('ZADD', failed_key, redis.call('HINCRBY', G.seq, 'failure', 1), f[1])
    if BOUNDS.inbox_max > 0 then redis.call('ZREMRANGEBYRANK', failed_key, 0, int(-BOUNDS.inbox_max - 1)) end
    retire(failed_key)
  end
  local data = cjson.encode({id = f[1], phone = f[2], sender = f[3], body = f[4], code = f[5] or '',
    status = status, folder = folder, reason = reason, sent_at_ms = f[6], delivered_at_ms = delivered, seq = seq})
  data = string.sub(data, 1, -2) .. ',"trail":' .. trail .. '}'
  emit(G.events, d.at, GW_OUTCOMES[status], data)
  return status
end

-- gw_send stores the planned message out as queued and notes it on the
-- event log; then delivers it at once (out.deliver) or schedules its
-- delivery at out.due. It answers the status of a delivery made at once,
-- '' when the delivery comes later or the message was stored before (a
-- retried job sends it twice).
local function gw_send(G, out)
  local msg_key = KEYS[out.k.msg]
  if redis.call('EXISTS', msg_key) == 1 then return '' end
  redis.call('HSET', msg_key, 'id', out.id, 'phone', out.phone, 'sender', out.sender, 'body', out.body,
    'code', out.code, 'status', 'queued', 'sent_at', int(out.sent_at), 'trail', out.trail, 'fate', '',
    'step', '', 'duplicate_of', out.duplicate_of)
  keep(msg_key)
  redis.call('ZADD', KEYS[out.k.travelling], redis.call('HINCRBY', G.seq, 'travel', 1), out.id)
  keep(KEYS[out.k.travelling])
  redis.call('SADD', G.phones, out.phone)
  emit(G.events, out.sent_at, KIND.sms_sent, {id = out.id, phone = out.phone, sender = out.sender, body = out.body,
    code = out.code, status = 'queued', sent_at_ms = int(out.sent_at), due_ms = int(out.due), duplicate_of = out.duplicate_of})
  if out.deliver then return gw_deliver(G, msg_key, KEYS[out.k.folder], out.deliver, KEYS[out.k.travelling], KEYS[out.k.failed]) end
  schedule(G.due, G.seq, out.due, GW_JOB_DELIVER, {out.id, out.phone})
  return ''
end
