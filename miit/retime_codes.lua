-- retime_codes sets afresh how long each live code of KEYS[3], KEYS[4], …
-- lives (the library's code keys: until the clock reaches its order's
-- deadline, in real time at the clock's scale — keep_until), the clock read
-- at args.now (ms) with the scale of args.bounds, after the scale or the
-- pause changed. It answers how many codes it set, or refuses a stale
-- snapshot.
--
-- KEYS: the clock, the fault profile, then the codes' keys.
local clock_key, faults_key = KEYS[1], KEYS[2]
if stale(clock_key, faults_key) then return STALE end
local n = 0
for i = 3, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    local deadline = tonumber(string.match(v, '^(%d*)|'))
    if deadline then keep_until(KEYS[i], args.now, deadline) else keep(KEYS[i]) end
    n = n + 1
  end
end
return n
