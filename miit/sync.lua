-- sync brings an order to MIIT (the library's sync_order), its plan
-- computed with the clock and the fault profile of args.expect. It answers
-- {the codes texted here (JSON: sync_order's answer), jobs due at once…},
-- or {'phones'} when the order's numbers are not the plan's, or refuses a
-- stale plan.
local filing_key = KEYS[9]
-- Sent in a run of syncs (Service.syncStep), it goes in its place or not at
-- all.
local refused = run_refusal()
if refused then return refused end
-- What a sync reads of the order, in one HMGET (order_fields): its state,
-- its subjects' numbers and validations, and what the provider shows,
-- which a result due at once reads.
local fields = {'status', 'id', 'nsubj', 'version', 'prov_version', 'prov_status', 'prov_flags_version', 'prov_validated'}
for i = 1, #args.subjects do
  fields[#fields + 1] = sfield(i, 'phone')
  fields[#fields + 1] = sfield(i, 'validated')
end
order_fields(filing_key, fields)
-- A plan made with the numbers its job was given (args.phones) is made
-- again with the order's when they changed since (a number changed).
if args.phones and not same_phones(filing_key, args.phones) then return {'phones'} end
if stale(clock_key, faults_key) then return STALE end
local phone = gw_stale_phone(sync_outs(args, {}))
if phone then return gw_stale_reply(phone) end
due_limit = args.now
local sent = sync_order(filing_key, args)
-- the order is under way at MIIT now: the indexes that list it live as long
for _, k in ipairs(args.who or {}) do keep(KEYS[k]) end
return finish({json_list(sent)})
