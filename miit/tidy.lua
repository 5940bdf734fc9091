-- tidy does what a script left to it (miit.lua's later_free and
-- later_retire), with the keys it could not reach: it frees each code of
-- args.codes its order still holds (its key at the position k), and bounds
-- the life of the index of each number of args.numbers (its key at the
-- position who) by the orders it lists (args.numbers[i].orders, as read
-- before the script, each with its key at the position k): the ids of
-- orders that expired leave it; with an order under way it is kept, else
-- retired. It answers 'retry' when an index no longer lists exactly those
-- orders, 'ok' when done, or refuses a stale snapshot (its bounds).
--
-- KEYS: the library's eight, then the keys args names by position.
if stale(clock_key, faults_key) then return STALE end
for _, n in ipairs(args.numbers) do
  local ids = {}
  for i, o in ipairs(n.orders) do ids[i] = o.id end
  if index_changed(KEYS[n.who], ids) then return 'retry' end
end
for _, c in ipairs(args.codes) do free_code(KEYS[c.k], c.code, c.id) end
for _, n in ipairs(args.numbers) do
  local who = KEYS[n.who]
  local under_way = false
  for _, o in ipairs(n.orders) do
    local st = order(KEYS[o.k]).status
    if not st then
      redis.call('SREM', who, o.id)
    elseif not ENDED[st] then
      under_way = true
    end
  end
  if under_way then keep(who) else retire(who) end
end
return 'ok'
