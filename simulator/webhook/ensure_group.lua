-- ensure_group creates the consumer group args.group at the end of the log
-- when hooks exist and the group does not (the log was deleted).
local hooks_key, events_key = KEYS[1], KEYS[2]
if redis.call('EXISTS', hooks_key) == 1 then
  redis.pcall('XGROUP', 'CREATE', events_key, args.group, '$', 'MKSTREAM')
end
return 0
