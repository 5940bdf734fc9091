-- auto_resend sends the current codes once more at args.now to whoever has
-- not validated an order still live. It answers the jobs due at once.
local filing_key = KEYS[9]
local F = filing_key
local now = args.now
due_limit = now
if not live(F, now) then return {} end
local id = order(F).id
for i = 1, nsubj(F) do
  if subj(F, i, 'validated') ~= '1' then
    schedule(due_key, seq_key, now, JOB.code, {id, i, subj(F, i, 'phone'), subj(F, i, 'code'), window(F)})
  end
end
return finish({})
