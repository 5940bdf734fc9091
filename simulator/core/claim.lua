-- claim moves up to args.limit jobs due by args.due_by from the due set to
-- the in-flight set, leased until the real time args.lease_until, and
-- answers them in due order. An advance that claims (args.owner, see
-- Scheduler.Advance) renews its own lease in the clock's hash at the same
-- time; it claims nothing once it is no longer the advance's owner (a
-- reset ended it, or another process took it over), and is refused. The
-- loop, which claims what fell due on the clock it read (args.anchor: its
-- sim and real), claims nothing once the clock was set anew since (an
-- advance, a pause, a reset), and is refused: it looks again.
local due_key, inflight_key, clock_key = KEYS[1], KEYS[2], KEYS[3]
if args.owner then
  if redis.call('HGET', clock_key, 'advance_owner') ~= args.owner then
    return {err = 'SUPERSEDED the advance ended, or another process took it over'}
  end
  redis.call('HSET', clock_key, 'advance_lease', int(args.lease_until))
elseif args.anchor then
  local c = redis.call('HMGET', clock_key, 'sim', 'real')
  if c[1] ~= args.anchor.sim or c[2] ~= args.anchor.real then
    return {err = 'CLOCK the clock was set anew since it was read'}
  end
end
local m = redis.call('ZRANGEBYSCORE', due_key, '-inf', int(args.due_by), 'LIMIT', '0', int(args.limit))
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
