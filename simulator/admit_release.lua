-- admit_release undoes an admission (admit.lua) of args.name at args.now,
-- whose request was refused: its score in the registry (KEYS[1]) goes
-- back to args.before, or it leaves the registry when that is '' — unless
-- a use was recorded since (its score moved). It answers 1 when undone.
local score = redis.call('ZSCORE', KEYS[1], args.name)
if not score or tonumber(score) ~= args.now then return 0 end
if args.before == '' then
  redis.call('ZREM', KEYS[1], args.name)
else
  redis.call('ZADD', KEYS[1], args.before, args.name)
end
return 1
