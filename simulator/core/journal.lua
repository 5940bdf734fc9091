-- journal appends the requests args.entries (JSON each, oldest first) to the
-- request journal of a namespace, keeps its newest args.max and retires the
-- list: it lives the retention from its last write (the prelude's retire).
-- It pushes the entries a hundred at a time, within what a call may take.
local journal_key = KEYS[1]
local entries = args.entries
for from = 1, #entries, 100 do
  redis.call('RPUSH', journal_key, unpack(entries, from, math.min(from + 99, #entries)))
end
redis.call('LTRIM', journal_key, -args.max, -1)
retire(journal_key)
return redis.call('LLEN', journal_key)
