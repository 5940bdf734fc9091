-- release puts the in-flight jobs args.jobs back in the due set.
local due_key, inflight_key = KEYS[1], KEYS[2]
for _, x in ipairs(args.jobs) do
  if redis.call('ZREM', inflight_key, x) == 1 then
    redis.call('ZADD', due_key, job_decode(x).due, x)
  end
end
return 0
