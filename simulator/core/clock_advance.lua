-- clock_advance starts an advance of the clock by args.add ms (see
-- Scheduler.Advance). A retry of a finished advance — the latest, or one
-- of those whose answers clock_finish keeps — with its Idempotency-Key
-- args.key moves nothing and answers {'replay', answer}, the clock that
-- advance answered (JSON). While another advance is
-- unfinished it answers {'unfinished', target}: the caller finishes or
-- awaits that one first. One that would pass args.max (simulated ms)
-- answers {'past', now}. Otherwise it records the advance — its target
-- advance_to, its key, its owner args.owner, leased until the real time
-- args.lease — and only then moves the clock there, re-anchored at the real
-- time args.real; it answers {'started', target}. KEYS: the clock, the fault
-- profile (whose SHA-1 the clock mirrors).
local clock_key, faults_key = KEYS[1], KEYS[2]
local c = redis.call('HMGET', clock_key, 'sim', 'real', 'scale', 'paused', 'advance_to', 'advanced_key', 'advanced')
if not c[1] then return redis.error_reply('clock is not set') end
if args.key ~= '' then
  if c[6] == args.key then return {'replay', c[7]} end
  local kept = redis.call('HGET', clock_key, 'advanced:' .. args.key)
  if kept then return {'replay', kept} end
end
if c[5] then return {'unfinished', c[5]} end
local real = args.real
local sim = tonumber(c[1])
if c[4] ~= '1' and real > tonumber(c[2]) then
  sim = sim + math.floor((real - tonumber(c[2])) * tonumber(c[3]))
end
sim = math.min(sim, args.max) -- a running clock stops there
if sim + args.add > args.max then return {'past', int(sim)} end
sim = sim + args.add
redis.call('HSET', clock_key, 'advance_to', int(sim), 'advance_key', args.key, 'advance_owner', args.owner,
  'advance_lease', int(args.lease))
local sim_s, real_s = int(sim), int(real)
redis.call('HSET', clock_key, 'sim', sim_s, 'real', real_s)
mirror_expect(clock_key, sim_s, real_s, c[3] or '', c[4] or '', faults_sha(faults_key))
return {'started', sim_s}
