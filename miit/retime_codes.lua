-- retime_codes sets afresh how long each code of args.codes lives (their
-- keys KEYS[4], KEYS[5], …, in order; the library's code keys: until the
-- clock reaches its order's deadline, in real time at the clock's scale —
-- keep_until), the clock read at args.now (ms) with the scale of
-- args.bounds, after the scale or the pause changed. A code whose key is
-- gone leaves the live codes (KEYS[3]). It answers how many codes it set,
-- or refuses a stale snapshot.
--
-- KEYS: the clock, the fault profile, the live codes, then the codes' keys.
local clock_key, faults_key, codes_key = KEYS[1], KEYS[2], KEYS[3]
if stale(clock_key, faults_key) then return STALE end
local n = 0
for i, code in ipairs(args.codes) do
  local key = KEYS[i + 3]
  local v = redis.call('GET', key)
  if v then
    local deadline = tonumber(string.match(v, '^(%d*)|'))
    if deadline then keep_until(key, args.now, deadline) else keep(key) end
    n = n + 1
  else
    redis.call('ZREM', codes_key, code)
  end
end
return n
