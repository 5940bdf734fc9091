-- expire_left gives each key of KEYS that has no lifetime one of args.ttl
-- ms: the long-lived keys of a namespace past its TTL, which a process
-- wrote after it last wrote their lifetime and died before it could again.
-- It answers how many it gave one.
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, args.ttl)
    n = n + 1
  end
end
return n
