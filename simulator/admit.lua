-- admit records namespace args.name in use in the registry (KEYS[1]) at
-- args.now (real ms), counting it against args.max, in one step: of two
-- admitted at once, each counts the other. A namespace used since
-- args.since is in use already: {'in_use'}, nothing recorded. Another —
-- new, or idle — is refused when args.max are in use: {'full', how many};
-- the default namespace (args.default) never is. Else it answers
-- {'admitted', its score before, '' when it had none}, which release.lua
-- puts back when the request that would have used it is refused.
local score = redis.call('ZSCORE', KEYS[1], args.name)
if score and tonumber(score) >= args.since then return {'in_use'} end
if not args.default then
  local n = redis.call('ZCOUNT', KEYS[1], args.since, '+inf')
  if n >= args.max then return {'full', tostring(n)} end
end
redis.call('ZADD', KEYS[1], args.now, args.name)
return {'admitted', score or ''}
