-- expire ends the validation window of an order at args.now: one still
-- pending validation is canceled, which the provider learns at
-- args.result_due. It answers the jobs due at once.
local filing_key = KEYS[9]
local F = filing_key
due_limit = args.now
if redis.call('HGET', F, 'status') ~= 'pending_validation' then return {} end
kill_codes(F)
count_status(F, 'canceled')
redis.call('HSET', F, 'status', 'canceled', 'canceled_by', 'expiry', 'canceled_at', int(args.now))
bump(F, args.result_due, 'canceled')
return finish({})
