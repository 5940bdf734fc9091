-- clock_move re-anchors the clock at the real time args.real, then adds
-- args.add milliseconds and sets the scale (args.scale, the text of a
-- number) and the paused flag (args.paused) when given. It answers the new
-- anchor: {sim, scale, paused}. A clock that ran past args.max (simulated
-- ms, core.MaxTime) is anchored there, where a running clock stops.
local clock_key = KEYS[1]
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
redis.call('HSET', clock_key, 'sim', int(sim), 'real', int(real), 'scale', scale, 'paused', paused)
return {int(sim), scale, paused}
