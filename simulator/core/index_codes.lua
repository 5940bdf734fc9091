-- index_codes lists in the sorted set of the live codes (KEYS[1]) each
-- code of args.codes whose key (KEYS[2], KEYS[3], …, in order) still
-- holds one: scored by its deadline ('<deadline>|<order id>'), or +inf for
-- a code of unknown deadline ('|', moved from a store older still). It
-- answers how many it listed.
local live_key = KEYS[1]
local n = 0
for i, code in ipairs(args.codes) do
  local v = redis.call('GET', KEYS[i + 1])
  if v then
    local deadline = string.match(v, '^(%d*)|')
    if deadline == '' or deadline == nil then deadline = '+inf' end
    redis.call('ZADD', live_key, deadline, code)
    n = n + 1
  end
end
return n
