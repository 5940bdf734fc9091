-- clock_finish ends the unfinished advance args.owner owns: it forgets the
-- target and, when the advance has an Idempotency-Key, keeps that key and
-- args.answer (the clock it answers, JSON) for a retry to replay — as the
-- latest (advanced_key, advanced), and among the answers of the latest
-- args.keep keyed advances (advanced:<key>, their keys in advanced_keys,
-- oldest first), which a retry of an earlier one finds when the process
-- that served it died before the API recorded its answer. With
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
  redis.call('HSET', clock_key, 'advanced_key', c[2], 'advanced', args.answer, 'advanced:' .. c[2], args.answer)
  local keys = {}
  for k in string.gmatch(redis.call('HGET', clock_key, 'advanced_keys') or '', '%S+') do
    if k ~= c[2] then keys[#keys + 1] = k end
  end
  keys[#keys + 1] = c[2]
  while #keys > args.keep do
    redis.call('HDEL', clock_key, 'advanced:' .. table.remove(keys, 1))
  end
  redis.call('HSET', clock_key, 'advanced_keys', table.concat(keys, ' '))
end
return 1
