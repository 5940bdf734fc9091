-- sync brings an order to MIIT (the library's sync_order), its plan
-- computed with the clock and the fault profile of args.expect. It answers
-- {the codes texted here (JSON: sync_order's answer), jobs due at once…},
-- or refuses a stale plan.
local filing_key = KEYS[8]
if stale(clock_key, faults_key) then return STALE end
local phone = gw_stale_phone(sync_outs(args, {}))
if phone then return gw_stale_reply(phone) end
due_limit = args.now
return finish({json_list(sync_order(filing_key, args))})
