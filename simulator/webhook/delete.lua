-- delete removes the hook args.id, its log and its retries, waiting or
-- claimed (members "<hook id>|…"). It answers 0 when there is no such hook.
local hooks_key, hook_key, log_key, retry_key, inflight_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
if redis.call('ZREM', hooks_key, args.id) == 0 then return 0 end
redis.call('DEL', hook_key, log_key)
local prefix = args.id .. '|'
for _, set in ipairs({retry_key, inflight_key}) do
  for _, m in ipairs(redis.call('ZRANGE', set, '0', '-1')) do
    if string.sub(m, 1, #prefix) == prefix then redis.call('ZREM', set, m) end
  end
end
return 1
