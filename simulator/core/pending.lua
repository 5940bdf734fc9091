-- pending tells, in one atomic read, whether jobs due by args.due_by are
-- left: 2 when some wait in the due set (another worker put them back), 1
-- when some are in flight, 0 when none.
local due_key, inflight_key = KEYS[1], KEYS[2]
if redis.call('ZCOUNT', due_key, '-inf', args.due_by) > 0 then return 2 end
for _, x in ipairs(redis.call('ZRANGE', inflight_key, 0, -1)) do
  if job_decode(x).due <= args.due_by then return 1 end
end
return 0
