-- sweep drops from the list of orders (KEYS[1]) the ids of args.ids whose
-- order is gone (its hash, KEYS[1 + i], expired): the page a submission
-- took (submit.lua's next_page). It answers how many it dropped.
local gone = {}
for i, id in ipairs(args.ids) do
  if redis.call('EXISTS', KEYS[1 + i]) == 0 then gone[#gone + 1] = id end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return #gone
