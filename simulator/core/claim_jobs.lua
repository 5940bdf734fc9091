-- claim_jobs claims the jobs args.jobs (stored forms), those still due,
-- leased until the real time args.lease_until, and answers them.
local due_key, inflight_key = KEYS[1], KEYS[2]
local out = {}
for _, x in ipairs(args.jobs) do
  if redis.call('ZREM', due_key, x) == 1 then
    redis.call('ZADD', inflight_key, args.lease_until, x)
    out[#out + 1] = x
  end
end
return out
