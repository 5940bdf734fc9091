-- cancel cancels an order for the customer at args.now, while MIIT holds it
-- as not yet synced or pending validation; it answers 'ok', else 'expired'
-- (its window ended) or the status that forbids it.
local filing_key = KEYS[9]
local F = filing_key
due_limit = args.now
local st = redis.call('HGET', F, 'status')
if st == 'unknown' or live(F, args.now) then
  kill_codes(F)
  local v = redis.call('HINCRBY', F, 'version', 1)
  count_status(F, 'canceled')
  redis.call('HSET', F, 'status', 'canceled', 'canceled_by', 'customer', 'prov_status', 'canceled', 'prov_version', v,
    'canceled_at', int(args.now))
  emit_status(F, 'miit', 'canceled')
  emit_status(F, 'provider', 'canceled')
  return 'ok'
end
if st == 'pending_validation' then return 'expired' end
return st
