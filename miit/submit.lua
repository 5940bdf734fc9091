-- submit stores a new order (args.fields, the hash of the order: field,
-- value, field, value…) and notes it on the event log (args.view, the
-- provider's view). Every subject gets the provider's notice at once: its
-- message planned in Go (args.notices[i].texts), or, when it could not be,
-- by a job. The order reaches MIIT at args.sync_due: at once when args.sync
-- holds the plan of its sync (the library's sync_order), else by a job
-- then. Its plans were computed with the clock and the fault profile of
-- args.expect. It answers {JSON: {notices = statuses of each notice's
-- messages, who = the orders each number's index lists, codes =
-- sync_order's answer, prov_status, prov_validated}, jobs due at once…},
-- or refuses a stale plan.
--
-- KEYS: the library's eight, the order, the list of orders, then the keys
-- args names by position: the index of each number (args.who[i]), the
-- messages' keys, the codes' keys.
local filing_key, filings_key = KEYS[9], KEYS[10]

-- With a retention, the list of orders forgets the orders whose hash
-- expired as orders are submitted, not only when it is listed: each
-- FORGET_EVERY-th submission takes the next FORGET_PAGE ids of the list
-- after the last ones taken (the field filings_swept of the sequences),
-- from the start again once at the end, and answers them: its caller has
-- sweep.lua drop those whose order is gone (their keys are not this
-- script's). Two ids looked at for each one added: the list holds at most
-- about twice the orders that are kept.
local FORGET_EVERY, FORGET_PAGE = 32, 64
local function next_page()
  local from = redis.call('HGET', seq_key, 'filings_swept') or '0'
  local page = redis.call('ZRANGEBYSCORE', filings_key, '(' .. from, '+inf', 'WITHSCORES', 'LIMIT', '0', int(FORGET_PAGE))
  local ids = {}
  for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
  local to = '0'
  if #page == 2 * FORGET_PAGE then to = page[#page] end
  redis.call('HSET', seq_key, 'filings_swept', to)
  return ids
end

if stale(clock_key, faults_key) then return STALE end
local outs = {}
for _, n in ipairs(args.notices) do
  for _, out in ipairs(n.texts or {}) do outs[#outs + 1] = out end
end
if args.sync then sync_outs(args.sync, outs) end
local phone = gw_stale_phone(outs)
if phone then return gw_stale_reply(phone) end

due_limit = args.submitted_at
local seq = args.seq
if seq == 0 then seq = redis.call('HINCRBY', seq_key, 'filing', '1') end
count_status(filing_key, 'unknown')
set_order(filing_key, unpack(args.fields))
touch_order(filing_key)
redis.call('ZADD', filings_key, int(seq), args.id)
local sweep = {}
if BOUNDS.retain > 0 and seq % FORGET_EVERY == 0 then sweep = next_page() end
emit_now(KIND.filing_submitted, args.view)
local notices = {}
local who = {}
for i, phone in ipairs(args.phones) do
  redis.call('SADD', KEYS[args.who[i]], args.id)
  keep(KEYS[args.who[i]])
  who[i] = json_list(redis.call('SMEMBERS', KEYS[args.who[i]]))
  local n = args.notices[i]
  if n.texts then
    local statuses = {}
    for k, out in ipairs(n.texts) do statuses[k] = gw_send(G, out) end
    notices[i] = json_list(statuses)
  else
    notices[i] = '[]'
    schedule(due_key, seq_key, args.submitted_at, JOB.notice, {args.id, phone, args.window})
  end
end
local codes = {}
if args.sync then
  codes = sync_order(filing_key, args.sync)
else
  schedule(due_key, seq_key, args.sync_due, JOB.sync, {args.id, unpack(args.phones)}) -- the numbers save the sync a read
end
apply_due_results() -- an order that needs no one may be under review at the provider already
local o = order(filing_key)
return finish({'{"notices":[' .. table.concat(notices, ',') .. '],"who":[' .. table.concat(who, ',') .. '],"codes":' .. json_list(codes) ..
  ',"prov_status":' .. cjson.encode(o.prov_status) .. ',"prov_validated":' .. cjson.encode(o.prov_validated or '') ..
  ',"sweep":' .. json_list(sweep) .. '}'})
