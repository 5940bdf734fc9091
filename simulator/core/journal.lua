-- journal appends the requests args.entries (JSON each, oldest first) to the
-- request journal of a namespace, keeps its newest args.max and retires the
-- list: it lives the retention from its last write (the prelude's retire).
local journal_key = KEYS[1]
for _, e in ipairs(args.entries) do
  redis.call('RPUSH', journal_key, e)
end
redis.call('LTRIM', journal_key, -args.max, -1)
retire(journal_key)
return redis.call('LLEN', journal_key)
