-- validate checks the code args.code that a person (args.phone,
-- args.last6) entered at args.now against every order of the number
-- (args.orders, as the index listed them). A code that matches validates
-- that person's subject in each order it matches; one that matches none
-- counts a failure on every person matched, and the MAX_FAILURES-th
-- consecutive failure rejects the order. Each order names the lags of its
-- outcomes: when the provider learns of a partial validation
-- (validated_lag), of the order going under review (under_review_lag) or
-- of its rejection (rejected_lag), and how long its review takes
-- (review_time), in ms from now. It answers {result, rejected ('1' or
-- '0'), jobs due at once…}, or {'retry', '0', the ids the index lists…}
-- when the index changed.
--
-- args.spurious: MIIT glitches and answers not_found, changing nothing;
-- so does the first validation of args.magic, the magic number of that
-- glitch (its key, KEYS[10], notes it happened).
--
-- KEYS: the library's eight, the number's index, the magic number's note,
-- the key of the code entered, then the order of each of args.orders, in
-- order.
if stale(clock_key, faults_key) then return STALE end
local who_key, magic_key, code_key = KEYS[9], KEYS[10], KEYS[11]
local filing_keys = key_list(12)
local phone, last6, code, now = args.phone, args.last6, args.code, args.now
due_limit = now
-- validation_event emits the validation's event: the number, the result,
-- whether it rejected an order, and spurious for MIIT's glitch. Its JSON is
-- written here, as cjson would write it at more cost: the number is eleven
-- digits (gateway.NormalizePhone), the result a word.
local function validation_event(result, rejected, spurious)
  local data = '{"phone":"' .. phone .. '","rejected":' .. (rejected and 'true' or 'false') .. ',"result":"' .. result .. '"'
  if spurious then data = data .. ',"spurious":true' end
  emit_now(KIND.validation, data .. '}')
end
-- MIIT glitches: not_found, whatever the data, and nothing applied.
local glitch = args.spurious
if not glitch and args.magic and redis.call('SET', magic_key, '1', 'NX') then
  keep(magic_key)
  glitch = true
end
if glitch then
  validation_event('not_found', false, true)
  return {'not_found', '0'}
end
local ids = {}
for i, o in ipairs(args.orders) do ids[i] = o.id end
local changed, members = index_changed(who_key, ids)
if changed then return retry_reply({'retry', '0'}, members) end
-- Most validations match no one: of each order they read its status, its
-- deadline and its subjects' numbers, certificates and validation, named
-- here for both subjects an order has at most, and read at once
-- (order_fields); a code entered is compared with its subject's code.
local LOOKUP = {'status', 'deadline', 'nsubj', 's1.validated', 's1.phone', 's1.certs', 's1.code',
  's2.validated', 's2.phone', 's2.certs', 's2.code'}
local matched = {}
for fi, F in ipairs(filing_keys) do
  order_fields(F, LOOKUP)
  if live(F, now) then
    for si = 1, nsubj(F) do
      if subj(F, si, 'validated') ~= '1' and matches(F, si, phone, last6) then
        matched[#matched + 1] = {fi, si}
      end
    end
  end
end
if #matched == 0 then
  validation_event('not_found', false)
  return {'not_found', '0'}
end
keep(who_key) -- an order it lists is under way, and written to below: the index lives as long
for _, m in ipairs(matched) do keep_others(filing_keys[m[1]], phone) end -- and the others' indexes

local hits = {}
for _, m in ipairs(matched) do
  if subj(filing_keys[m[1]], m[2], 'code') == code then hits[#hits + 1] = m end
end
if #hits > 0 then
  local result = 'partial'
  for _, m in ipairs(hits) do
    local F, listed = filing_keys[m[1]], args.orders[m[1]]
    local all = true -- the others validated before
    for si = 1, nsubj(F) do
      if si ~= m[2] and subj(F, si, 'validated') ~= '1' then all = false end
    end
    free_code(code_key, code, listed.id)
    if all then
      count_status(F, 'under_review')
      set_order(F, sfield(m[2], 'validated'), '1', 'status', 'under_review', 'validated_at', int(now))
      bump(F, now + listed.under_review_lag, 'under_review')
      schedule(due_key, seq_key, now + listed.review_time, JOB.review, {listed.id})
      result = 'complete'
    else
      set_order(F, sfield(m[2], 'validated'), '1')
      bump(F, now + listed.validated_lag, 'pending_validation')
    end
    touch_order(F)
  end
  validation_event(result, false)
  return finish({result, '0'})
end

local rejected = '0'
for _, m in ipairs(matched) do
  local F, listed = filing_keys[m[1]], args.orders[m[1]]
  if incr_order(F, sfield(m[2], 'failures'), '1') >= MAX_FAILURES then
    ended(F)
    count_status(F, 'rejected')
    set_order(F, 'status', 'rejected', 'rejected_at', int(now))
    bump(F, now + listed.rejected_lag, 'rejected')
    rejected = '1'
  end
  touch_order(F)
end
validation_event('failed', rejected == '1')
return finish({'failed', rejected})
