-- pending tells, in one atomic read, whether jobs due by args.due_by are
-- left: 2 when some wait in the due set (another worker put them back), 1
-- when some are in flight, 0 when none. An advance that waits (args.owner)
-- renews its own lease in the clock's hash (KEYS[3]) meanwhile, as claim
-- does, and is refused as claim refuses it.
local due_key, inflight_key, clock_key = KEYS[1], KEYS[2], KEYS[3]
if args.owner then
  if redis.call('HGET', clock_key, 'advance_owner') ~= args.owner then
    return {err = 'SUPERSEDED the advance ended, or another process took it over'}
  end
  redis.call('HSET', clock_key, 'advance_lease', int(args.lease_until))
end
if redis.call('ZCOUNT', due_key, '-inf', args.due_by) > 0 then return 2 end
for _, x in ipairs(redis.call('ZRANGE', inflight_key, '0', '-1')) do
  if job_decode(x).due <= args.due_by then return 1 end
end
return 0
