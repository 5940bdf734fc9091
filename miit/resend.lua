-- resend sends a person (args.phone, args.last6) a new code at args.now in
-- every order of the number (args.orders, as the index listed them) where
-- the person is pending validation and has resends left: the first of the
-- order's candidates that is no live code, unless args.same_code, which
-- sends the current code again. It answers {the best result over the
-- orders, jobs due at once…} — not_found, no_pending, limit_reached,
-- resent, from worst to best — or {'retry', the ids the index lists…}
-- when the index changed.
--
-- KEYS: the library's eight, the number's index, the order of each of
-- args.orders, in order, then the keys of the candidates (args.orders[i]
-- names them by position).
if stale(clock_key, faults_key) then return STALE end
local who_key = KEYS[9]
local filing_keys = {}
for i = 1, #args.orders do filing_keys[i] = KEYS[9 + i] end
local phone, last6, now = args.phone, args.last6, args.now
due_limit = now
local ids = {}
for i, o in ipairs(args.orders) do ids[i] = o.id end
local changed, members = index_changed(who_key, ids)
if changed then return retry_reply({'retry'}, members) end
local rank = {not_found = 0, no_pending = 1, limit_reached = 2, resent = 3}
local best = 'not_found'
for fi, F in ipairs(filing_keys) do
  local listed = args.orders[fi]
  local st = order(F).status
  for si = 1, nsubj(F) do
    if matches(F, si, phone, last6) then
      local r = 'not_found'
      if st == 'unknown' or st == 'under_review' or st == 'approved' or st == 'returned' then
        r = 'no_pending'
      elseif live(F, now) then
        if subj(F, si, 'validated') == '1' then
          r = 'no_pending'
        elseif tonumber(subj(F, si, 'resends')) >= MAX_RESENDS then
          r = 'limit_reached'
        else
          local code = subj(F, si, 'code')
          if not args.same_code then
            code = new_code(listed, listed.id, now, tonumber(order(F).deadline))
            if not code then return redis.error_reply('no free code among the candidates') end
            local old = subj(F, si, 'code')
            if old and old ~= '' then later_free(old, listed.id) end
            set_order(F, sfield(si, 'code'), code)
          end
          incr_order(F, sfield(si, 'resends'), '1')
          touch_order(F)
          schedule(due_key, seq_key, now, JOB.code, {listed.id, si, phone, code, window(F)})
          keep_others(F, phone)
          r = 'resent'
        end
      end
      if rank[r] > rank[best] then best = r end
    end
  end
end
-- an order it lists is under way, and was written to: the index lives as long
if best == 'resent' then keep(who_key) end
emit_now(KIND.resend, {phone = phone, result = best})
return finish({best})
