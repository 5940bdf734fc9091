-- deliver delivers queued messages in order, each to its folder, with the
-- status, reason and trail onDeliver decided (args.messages[i]); a message
-- bound for a full inbox fails instead (inbox_full), with the trail
-- trail_if_full. Each outcome goes on the event log in the same step, so
-- that the live feed sees a delivery exactly when the store holds it. It
-- answers, for each message, its status, or '' when it was no longer
-- queued.
--
-- KEYS: the hash of sequence numbers, the event log, then for each message
-- of args.messages, in order, its hash and the folder it goes to (the inbox
-- when it goes to none).
local seq_key, events_key = KEYS[1], KEYS[2]
local outcome_kind = {delivered = KIND.sms_delivered, blocked = KIND.sms_blocked, failed = KIND.sms_failed}
local out = {}
for i, keys in ipairs(key_groups(3, 2)) do
  local msg_key, folder_key = keys[1], keys[2]
  local m = args.messages[i]
  local status, folder, reason, trail = m.status, m.folder, m.reason, m.trail
  out[i] = ''
  if redis.call('HGET', msg_key, 'status') == 'queued' then
    if folder == 'inbox' and m.inbox_limit > 0 and redis.call('ZCARD', folder_key) >= m.inbox_limit then
      status, folder, reason, trail = 'failed', '', 'inbox_full', m.trail_if_full
    end
    out[i] = status
    redis.call('HSET', msg_key, 'status', status, 'trail', trail)
    if reason ~= '' then redis.call('HSET', msg_key, 'reason', reason) end
    local seq, delivered = '', ''
    if folder ~= '' then
      seq = int(redis.call('HINCRBY', seq_key, 'delivery', 1))
      delivered = int(m.at)
      redis.call('ZADD', folder_key, seq, redis.call('HGET', msg_key, 'id'))
      redis.call('HSET', msg_key, 'folder', folder, 'delivered_at', delivered, 'seq', seq)
    end
    local f = redis.call('HMGET', msg_key, 'id', 'phone', 'sender', 'body', 'code', 'sent_at')
    local data = cjson.encode({id = f[1], phone = f[2], sender = f[3], body = f[4], code = f[5] or '',
      status = status, folder = folder, reason = reason, sent_at_ms = f[6], delivered_at_ms = delivered, seq = seq})
    data = string.sub(data, 1, -2) .. ',"trail":' .. trail .. '}'
    emit(events_key, m.at, outcome_kind[status], data)
  end
end
return out
