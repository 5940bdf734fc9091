-- review decides an order under review at args.now: args.outcome, which
-- the provider learns at args.result_due. It answers the jobs due at once.
local filing_key = KEYS[9]
local F = filing_key
due_limit = args.now
if redis.call('HGET', F, 'status') ~= 'under_review' then return {} end
count_status(F, args.outcome)
redis.call('HSET', F, 'status', args.outcome, 'reviewed_at', int(args.now))
bump(F, args.result_due, args.outcome)
return finish({})
