-- upgrade_codes moves the live codes of a store written before the codes
-- had a key each — the set KEYS[1] — to their keys (KEYS[3], KEYS[4], …,
-- one for each of args.codes, in order), lists them among the live codes
-- (KEYS[2]), and deletes the set. A code so moved holds '|': its deadline
-- and its order are unknown, so it counts as live until an order whose code
-- it is ends or validates it (miit.lua's free_code), and lives as long as
-- any key under way (keep); it is listed with no deadline (+inf). It
-- answers how many it moved.
local codes_key, live_key = KEYS[1], KEYS[2]
local moved = 0
for i, code in ipairs(args.codes) do
  if redis.call('SISMEMBER', codes_key, code) == 1 and redis.call('SET', KEYS[i + 2], '|', 'NX') then
    keep(KEYS[i + 2])
    redis.call('ZADD', live_key, '+inf', code)
    moved = moved + 1
  end
end
redis.call('DEL', codes_key)
return moved
