-- expire ends the validation window of an order at args.now: one still
-- pending validation is canceled, which the provider learns at
-- args.result_due. It answers what is left to tidy and the jobs due at
-- once, or refuses a stale snapshot (its bounds).
local filing_key = KEYS[9]
local F = filing_key
if stale(clock_key, faults_key) then return STALE end
due_limit = args.now
if order(F).status ~= 'pending_validation' then return {} end
ended(F)
count_status(F, 'canceled')
set_order(F, 'status', 'canceled', 'canceled_by', 'expiry', 'canceled_at', int(args.now))
bump(F, args.result_due, 'canceled')
touch_order(F)
return finish({})
