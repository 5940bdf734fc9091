-- journal appends the requests ARGV[2], ARGV[3], … (JSON each, oldest
-- first) to the request journal of a namespace, keeps its newest args.max
-- and retires the list: it lives the retention from its last write (the
-- prelude's retire). It pushes the entries a hundred at a time, within
-- what a call may take, and answers how many it pushed.
local journal_key = KEYS[1]
local last = #ARGV
for from = 2, last, 100 do
  redis.call('RPUSH', journal_key, unpack(ARGV, from, math.min(from + 99, last)))
end
redis.call('LTRIM', journal_key, int(-args.max), '-1')
retire(journal_key)
return last - 1
