-- clock_finish ends the unfinished advance args.owner owns: it forgets the
-- target and, when the advance has an Idempotency-Key, keeps that key and
-- args.answer (the clock it answers, JSON) for a retry to replay. With
-- args.give_up, its owner could not finish it: it ends the owner's lease
-- instead, for any process to take the advance over at once. It answers 1,
-- or 0 when another owner took the advance over meanwhile.
local clock_key = KEYS[1]
local c = redis.call('HMGET', clock_key, 'advance_owner', 'advance_key')
if c[1] ~= args.owner then return 0 end
if args.give_up then
  redis.call('HSET', clock_key, 'advance_lease', '0')
  return 1
end
redis.call('HDEL', clock_key, 'advance_to', 'advance_key', 'advance_owner', 'advance_lease')
if c[2] and c[2] ~= '' then
  redis.call('HSET', clock_key, 'advanced_key', c[2], 'advanced', args.answer)
end
return 1
