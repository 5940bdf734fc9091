-- send stores a queued message and schedules its delivery at args.due,
-- later by the delay of the phone's next fault-script step, which it takes
-- (unless the message is a duplicate), and notes it on the event log. It
-- answers the delivery job and the step taken; {'', ''} when the message
-- was stored before (a retried job sends it twice).
local msg_key, due_key, seq_key, phones_key, script_key, events_key, travel_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
if redis.call('EXISTS', msg_key) == 1 then return {'', ''} end
local step = ''
if args.duplicate_of == '' then step = redis.call('LPOP', script_key) or '' end
local due = args.due
if string.sub(step, 1, 6) == 'delay:' then due = due + tonumber(string.sub(step, 7)) end
redis.call('HSET', msg_key, 'id', args.id, 'phone', args.phone, 'sender', args.sender, 'body', args.body,
  'code', args.code, 'status', 'queued', 'sent_at', int(args.sent_at), 'trail', args.trail, 'fate', args.fate,
  'step', step, 'duplicate_of', args.duplicate_of)
keep_new(msg_key)
redis.call('ZADD', travel_key, int(redis.call('HINCRBY', seq_key, 'travel', '1')), args.id)
keep(travel_key)
know_phone(phones_key, args.phone)
emit(events_key, args.sent_at, KIND.sms_sent, {id = args.id, phone = args.phone, sender = args.sender, body = args.body,
  code = args.code, status = 'queued', sent_at_ms = int(args.sent_at), due_ms = int(due), duplicate_of = args.duplicate_of})
return {schedule(due_key, seq_key, due, JOB.deliver, {args.id, args.phone}), step}
