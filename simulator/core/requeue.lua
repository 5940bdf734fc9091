-- requeue puts back in the due set the in-flight jobs whose lease ended
-- before the real time args.now, and answers how many.
local due_key, inflight_key = KEYS[1], KEYS[2]
local m = redis.call('ZRANGEBYSCORE', inflight_key, '-inf', args.now)
for _, x in ipairs(m) do
  redis.call('ZREM', inflight_key, x)
  redis.call('ZADD', due_key, job_decode(x).due, x)
end
return #m
