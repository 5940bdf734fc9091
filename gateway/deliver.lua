-- deliver delivers queued messages in order, each to its folder, with the
-- status, reason and trail onDeliver decided (args.messages[i]; the
-- library's gw_deliver). It answers, for each message, its status, or ''
-- when it was no longer queued.
--
-- KEYS: the hash of sequence numbers, the event log, the numbers the
-- namespace knows, then for each message
-- of args.messages, in order, its hash, the folder it goes to (the inbox
-- when it goes to none), its phone's travelling and failed sets.
local G = {seq = KEYS[1], events = KEYS[2], phones = KEYS[3]}
local out = {}
for i, keys in ipairs(key_groups(4, 4)) do
  out[i] = gw_deliver(G, keys[1], keys[2], args.messages[i], keys[3], keys[4])
end
return out
