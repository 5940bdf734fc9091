-- claim moves up to args.limit jobs due by args.due_by from the due set to
-- the in-flight set, leased until the real time args.lease_until. It
-- answers the job sequence number first (see Scheduler.RunDue), then the
-- jobs in due order.
local due_key, inflight_key, seq_key = KEYS[1], KEYS[2], KEYS[3]
local m = redis.call('ZRANGEBYSCORE', due_key, '-inf', args.due_by, 'LIMIT', 0, args.limit)
for _, x in ipairs(m) do
  redis.call('ZREM', due_key, x)
  redis.call('ZADD', inflight_key, args.lease_until, x)
end
table.insert(m, 1, redis.call('HGET', seq_key, 'job') or '0')
return m
