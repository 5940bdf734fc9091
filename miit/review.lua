-- review decides an order under review at args.now: args.outcome, which
-- the provider learns at args.result_due. It answers what is left to tidy
-- and the jobs due at once, or refuses a stale snapshot (its bounds).
local filing_key = KEYS[9]
local F = filing_key
if stale(clock_key, faults_key) then return STALE end
due_limit = args.now
if order(F).status ~= 'under_review' then return {} end
ended(F)
count_status(F, args.outcome)
set_order(F, 'status', args.outcome, 'reviewed_at', int(args.now))
bump(F, args.result_due, args.outcome)
touch_order(F)
return finish({})
