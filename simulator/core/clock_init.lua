-- clock_init sets the clock to its start value; with args.keep, only when
-- it is not set yet, and then it mirrors a clock an older version set
-- (mirror_expect). Set anew, it forgets any advance, and the answers of
-- those before. It answers 1 when it set the clock. KEYS: the clock, the
-- fault profile (whose SHA-1 the clock mirrors).
local clock_key, faults_key = KEYS[1], KEYS[2]
if args.keep and redis.call('EXISTS', clock_key) == 1 then
  -- set by an older version, which kept no mirror: mirrored now
  if redis.call('HEXISTS', clock_key, 'expect') == 0 then
    local c = redis.call('HMGET', clock_key, 'sim', 'real', 'scale', 'paused')
    if c[1] then mirror_expect(clock_key, c[1], c[2] or '', c[3] or '', c[4] or '', faults_sha(faults_key)) end
  end
  return 0
end
local paused = '0'
if args.paused then paused = '1' end
local ttl = redis.call('PTTL', clock_key)
redis.call('DEL', clock_key)
local sim, real = int(args.sim), int(args.real)
redis.call('HSET', clock_key, 'sim', sim, 'real', real, 'scale', args.scale, 'paused', paused)
mirror_expect(clock_key, sim, real, args.scale, paused, faults_sha(faults_key))
if ttl > 0 then redis.call('PEXPIRE', clock_key, ttl) end
return 1
