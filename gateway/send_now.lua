-- send_now sends args.messages, planned with the clock and the fault
-- profile of args.expect and with what the process knew of the phones
-- (gateway.Plan): each is stored, and delivered at once when it is due at
-- once (the library's gw_send). It answers the status of each delivery
-- made at once ('' for one that comes later), or refuses a stale plan.
--
-- KEYS: the clock, the fault profile, the scheduler's due set, the
-- sequence hash, the event log, the set of phones, then the keys the
-- messages name (out.k).
local clock_key, faults_key = KEYS[1], KEYS[2]
local G = {due = KEYS[3], seq = KEYS[4], events = KEYS[5], phones = KEYS[6]}
if stale(clock_key, faults_key) then return STALE end
local phone = gw_stale_phone(args.messages)
if phone then return gw_stale_reply(phone) end
local out = {}
for i, m in ipairs(args.messages) do out[i] = gw_send(G, m) end
return out
