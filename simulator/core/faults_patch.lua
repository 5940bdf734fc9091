-- faults_patch stores the profile args.to, computed by the caller from
-- args.from, only if the stored profile is still args.from ('' when none is
-- stored). It answers 1 when it stored it.
local faults_key = KEYS[1]
local cur = redis.call('GET', faults_key) or ''
if cur ~= args.from then return 0 end
redis.call('SET', faults_key, args.to, 'KEEPTTL') -- it lives as the namespace does
return 1
