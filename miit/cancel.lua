-- cancel cancels an order for the customer at args.now, while MIIT holds it
-- as not yet synced or pending validation; it answers {'ok', what is left
-- to tidy…}, else {'expired'} (its window ended) or {the status that
-- forbids it}. It refuses a stale snapshot (its bounds).
local filing_key = KEYS[9]
local F = filing_key
if stale(clock_key, faults_key) then return STALE end
due_limit = args.now
local st = order(F).status
if st == 'unknown' or live(F, args.now) then
  ended(F)
  local v = incr_order(F, 'version', '1')
  count_status(F, 'canceled')
  -- the provider knows its cancel at once, and with it MIIT's state as it
  -- stands: the results still on their way change nothing when they arrive
  set_order(F, 'status', 'canceled', 'canceled_by', 'customer', 'prov_status', 'canceled', 'prov_version', v,
    'prov_flags_version', v, 'prov_validated', validated_roles(F), 'canceled_at', int(args.now))
  emit_status(F, 'miit', 'canceled')
  emit_status(F, 'provider', 'canceled')
  touch_order(F)
  return finish({'ok'})
end
if st == 'pending_validation' then return {'expired'} end
return {st or ''}
