-- clock_move re-anchors the clock at the real time args.real, then adds
-- args.add milliseconds and sets the scale (args.scale, the text of a
-- number) and the paused flag (args.paused) when given. It answers the new
-- anchor: {sim, scale, paused}. A clock that ran past args.max (simulated
-- ms, core.MaxTime) is anchored there, where a running clock stops. KEYS:
-- the clock, the fault profile (whose SHA-1 the clock mirrors).
local clock_key, faults_key = KEYS[1], KEYS[2]
local c = redis.call('HMGET', clock_key, 'sim', 'real', 'scale', 'paused')
if not c[1] then return redis.error_reply('clock is not set') end
local real = args.real
local sim = tonumber(c[1])
if c[4] ~= '1' and real > tonumber(c[2]) then
  sim = sim + math.floor((real - tonumber(c[2])) * tonumber(c[3]))
end
sim = math.min(sim, args.max) -- a running clock stops there
sim = sim + args.add
local scale = c[3]
if args.scale then scale = args.scale end
local paused = c[4]
if args.paused ~= nil then
  paused = '0'
  if args.paused then paused = '1' end
end
local sim_s, real_s = int(sim), int(real)
redis.call('HSET', clock_key, 'sim', sim_s, 'real', real_s, 'scale', scale, 'paused', paused)
mirror_expect(clock_key, sim_s, real_s, scale, paused, faults_sha(faults_key))
return {sim_s, scale, paused}
