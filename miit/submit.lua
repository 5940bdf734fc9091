-- submit stores a new order (args.fields, the hash of the order) and notes
-- it on the event log (args.view, the provider's view); every subject gets
-- the provider's notice at once, and the order reaches MIIT at
-- args.sync_due. It answers the jobs due at once.
--
-- KEYS: the library's eight, the order, the list of orders, then the index
-- of each number of args.phones, in order.
local filing_key, filings_key = KEYS[9], KEYS[10]
local who_keys = key_list(11)
due_limit = args.submitted_at
count_status(filing_key, 'unknown')
local fields = {}
for f, v in pairs(args.fields) do
  fields[#fields + 1] = f
  fields[#fields + 1] = v
end
redis.call('HSET', filing_key, unpack(fields))
redis.call('ZADD', filings_key, args.seq, args.id)
emit_now(KIND.filing_submitted, args.view)
for i, phone in ipairs(args.phones) do
  redis.call('SADD', who_keys[i], args.id)
  schedule(due_key, seq_key, args.submitted_at, JOB.notice, {args.id, phone, args.window})
end
schedule(due_key, seq_key, args.sync_due, JOB.sync, {args.id})
return finish({})
