-- faults_store stores the profile args.to (its stored form: its SHA-1, then
-- its JSON, core.FaultStore) — given args.from, only if the stored profile
-- is still that one ('' when none is stored) — and mirrors its SHA-1 in the
-- clock's hash when the clock is set (mirror_expect). It answers {'1', the
-- profile it replaced ('' when none)}, or {'0'} when the stored profile was
-- not args.from. KEYS: the profile, the clock.
local faults_key, clock_key = KEYS[1], KEYS[2]
local cur = redis.call('GET', faults_key) or ''
if args.from and cur ~= args.from then return {'0'} end
redis.call('SET', faults_key, args.to, 'KEEPTTL') -- it lives as the namespace does
local c = redis.call('HMGET', clock_key, 'sim', 'real', 'scale', 'paused')
if c[1] then mirror_expect(clock_key, c[1], c[2] or '', c[3] or '', c[4] or '', string.sub(args.to, 1, 40)) end
return {'1', cur}
