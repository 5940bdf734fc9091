-- clock_take makes args.owner the owner of the clock's unfinished advance
-- when its lease ended by the real time args.real (its process died),
-- leased until args.lease, and answers {'taken', target}; {'held', lease}
-- while its lease runs; {'none'} when no advance is unfinished.
local clock_key = KEYS[1]
local c = redis.call('HMGET', clock_key, 'advance_to', 'advance_lease')
if not c[1] then return {'none'} end
if tonumber(c[2] or '0') > args.real then return {'held', c[2]} end
redis.call('HSET', clock_key, 'advance_owner', args.owner, 'advance_lease', int(args.lease))
return {'taken', c[1]}
