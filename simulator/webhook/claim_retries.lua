-- claim_retries first puts back the claimed retries whose lease ended by the real
-- time args.now, then claims up to args.limit retries due by then, leased
-- until args.lease_until, and answers them, in due order. A hook has at
-- most args.per_hook retries claimed at once, by every dispatcher: the
-- retries of a hook at its share stay due, and those of the other hooks
-- behind them are claimed instead, looking at most args.scan due retries
-- deep. A retry is "<hook id>|…" (retryMember).
local retry_key, inflight_key = KEYS[1], KEYS[2]
for _, m in ipairs(redis.call('ZRANGEBYSCORE', inflight_key, '-inf', args.now)) do
  redis.call('ZREM', inflight_key, m)
  redis.call('ZADD', retry_key, int(args.now), m)
end
local claimed = {}
for _, m in ipairs(redis.call('ZRANGE', inflight_key, '0', '-1')) do
  local hook = string.match(m, '^[^|]*')
  claimed[hook] = (claimed[hook] or 0) + 1
end
local due = redis.call('ZRANGEBYSCORE', retry_key, '-inf', int(args.now), 'LIMIT', '0', int(args.scan))
local out = {}
for _, m in ipairs(due) do
  if #out >= args.limit then break end
  local hook = string.match(m, '^[^|]*')
  local n = claimed[hook] or 0
  if n < args.per_hook then
    claimed[hook] = n + 1
    redis.call('ZREM', retry_key, m)
    redis.call('ZADD', inflight_key, args.lease_until, m)
    out[#out + 1] = m
  end
end
return out
