-- throttle is a token bucket in the GCRA form, the bucket args.bucket of
-- the hash of throttles: a message at args.now (ms) passes at once when
-- the bucket allows, else is held until it does (answering that time) or,
-- with args.refuse, refused (answering -1); one it would hold longer than
-- args.max_hold (ms) is refused too (answering -2), and takes no place in
-- the bucket. args.interval is the time between messages at the limit
-- (ms), args.burst the burst.
local throttles_key = KEYS[1]
local tat = tonumber(redis.call('HGET', throttles_key, args.bucket) or '0')
local now, interval, burst = args.now, args.interval, args.burst
if tat < now then tat = now end
local pass_at = tat - (burst - 1) * interval
if pass_at > now and args.refuse then return -1 end
if pass_at < now then pass_at = now end
if pass_at - now > args.max_hold then return -2 end
redis.call('HSET', throttles_key, args.bucket, int(tat + interval))
return pass_at
