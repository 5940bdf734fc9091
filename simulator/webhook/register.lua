-- register adds the hook args.id (JSON args.hook) unless the namespace
-- holds args.max_hooks hooks already (answer 0). The first hook
-- (re)creates the consumer group args.group at the end of the log, so that
-- the group holds nothing read before; later ones create it only when it
-- is gone. The hook keeps the id of the newest event (since): it receives
-- only those after.
local hooks_key, hook_key, events_key = KEYS[1], KEYS[2], KEYS[3]
local n = redis.call('ZCARD', hooks_key)
if n >= args.max_hooks then return 0 end
if n == 0 then redis.pcall('XGROUP', 'DESTROY', events_key, args.group) end
redis.pcall('XGROUP', 'CREATE', events_key, args.group, '$', 'MKSTREAM')
local last = redis.call('XREVRANGE', events_key, '+', '-', 'COUNT', '1')
local since = '0-0'
if #last > 0 then since = last[1][1] end
local top = redis.call('ZREVRANGE', hooks_key, '0', '0', 'WITHSCORES')
local seq = 1
if #top > 0 then seq = tonumber(top[2]) + 1 end
redis.call('ZADD', hooks_key, seq, args.id)
redis.call('HSET', hook_key, 'hook', args.hook, 'since', since)
keep(hook_key)
return 1
