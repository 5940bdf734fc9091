-- clock_init sets the clock to its start value; with args.keep, only when
-- it is not set yet. Set anew, it forgets any advance, and the answers of
-- those before. It answers 1 when it set the clock.
local clock_key = KEYS[1]
if args.keep and redis.call('EXISTS', clock_key) == 1 then return 0 end
local paused = '0'
if args.paused then paused = '1' end
local ttl = redis.call('PTTL', clock_key)
redis.call('DEL', clock_key)
redis.call('HSET', clock_key, 'sim', int(args.sim), 'real', int(args.real), 'scale', args.scale, 'paused', paused)
if ttl > 0 then redis.call('PEXPIRE', clock_key, ttl) end
return 1
