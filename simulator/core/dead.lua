-- dead moves the claimed jobs args.jobs (stored forms) from the in-flight
-- set to the dead-letter set: each as JSON (job, error: args.errors[i],
-- failed_at: args.at, real ms), scored by its order of arrival (the field
-- dead of the hash of sequence numbers). The set keeps its newest
-- args.keep. It answers how many it moved: a job no longer in flight (its
-- lease ended and another process took it back) is left to that one.
local inflight_key, dead_key, seq_key = KEYS[1], KEYS[2], KEYS[3]
local n = 0
for i, x in ipairs(args.jobs) do
  if redis.call('ZREM', inflight_key, x) == 1 then
    redis.call('ZADD', dead_key, int(redis.call('HINCRBY', seq_key, 'dead', '1')), cjson.encode({job = x, error = args.errors[i], failed_at = args.at}))
    n = n + 1
  end
end
if n > 0 then redis.call('ZREMRANGEBYRANK', dead_key, '0', int(-(args.keep + 1))) end
return n
