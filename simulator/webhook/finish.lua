-- finish records an attempt: it releases the claimed retry args.claimed
-- ('' for a first attempt), removes a first attempt's stand-in retry
-- args.stand_in (scheduled when Step went on without it), logs args.entry
-- keeping the newest
-- args.log_len entries, and schedules the next attempt args.next ('' for
-- none) at args.next_due (real ms). A hook deleted meanwhile gets nothing
-- (answer 0); a claim lost meanwhile (the lease ended and another
-- dispatcher took the retry over) schedules nothing.
local hook_key, log_key, retry_key, inflight_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local mine = true
if args.claimed ~= '' then mine = redis.call('ZREM', inflight_key, args.claimed) == 1 end
if args.stand_in ~= '' then redis.call('ZREM', retry_key, args.stand_in) end
if redis.call('EXISTS', hook_key) == 0 then return 0 end
redis.call('LPUSH', log_key, args.entry)
redis.call('LTRIM', log_key, '0', int(args.log_len - 1))
keep(hook_key)
keep(log_key)
if mine and args.next ~= '' then redis.call('ZADD', retry_key, args.next_due, args.next) end
return 1
