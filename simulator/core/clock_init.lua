-- clock_init sets the clock to its start value; with args.keep, only when
-- it is not set yet. Set anew, it forgets any advance. It answers 1 when it
-- set the clock.
local clock_key = KEYS[1]
if args.keep and redis.call('EXISTS', clock_key) == 1 then return 0 end
local paused = '0'
if args.paused then paused = '1' end
redis.call('HDEL', clock_key, 'advance_to', 'advance_key', 'advance_owner', 'advance_lease', 'advanced_key', 'advanced')
redis.call('HSET', clock_key, 'sim', int(args.sim), 'real', int(args.real), 'scale', args.scale, 'paused', paused)
return 1
