-- claim moves up to args.limit jobs due by args.due_by from the due set to
-- the in-flight set, leased until the real time args.lease_until, and
-- answers them in due order. An advance that claims (args.owner, see
-- Scheduler.Advance) renews its own lease in the clock's hash at the same
-- time, while it is still the advance's owner.
local due_key, inflight_key, clock_key = KEYS[1], KEYS[2], KEYS[3]
if args.owner and redis.call('HGET', clock_key, 'advance_owner') == args.owner then
  redis.call('HSET', clock_key, 'advance_lease', int(args.lease_until))
end
local m = redis.call('ZRANGEBYSCORE', due_key, '-inf', args.due_by, 'LIMIT', 0, args.limit)
-- moved a few hundred at a time: one command each way, within what Lua
-- passes to a call
local lease = int(args.lease_until)
for from = 1, #m, 256 do
  local to = math.min(from + 255, #m)
  local scored = {}
  for i = from, to do
    scored[#scored + 1] = lease
    scored[#scored + 1] = m[i]
  end
  redis.call('ZREM', due_key, unpack(m, from, to))
  redis.call('ZADD', inflight_key, unpack(scored))
end
return m
