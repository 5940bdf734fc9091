-- claim_retries first puts back the claimed retries whose lease ended by the real
-- time args.now, then claims up to args.limit retries due by then, leased
-- until args.lease_until, and answers them.
local retry_key, inflight_key = KEYS[1], KEYS[2]
for _, m in ipairs(redis.call('ZRANGEBYSCORE', inflight_key, '-inf', args.now)) do
  redis.call('ZREM', inflight_key, m)
  redis.call('ZADD', retry_key, args.now, m)
end
local due = redis.call('ZRANGEBYSCORE', retry_key, '-inf', args.now, 'LIMIT', 0, args.limit)
for _, m in ipairs(due) do
  redis.call('ZREM', retry_key, m)
  redis.call('ZADD', inflight_key, args.lease_until, m)
end
return due
