-- sync brings an order to MIIT at args.now: each subject gets a code (the
-- first of its args.subjects[i].candidates that is no live code), texted
-- at its code_due, and the validation window runs to args.deadline; an
-- order that needs no one goes under review at once, its review due at
-- args.review_due. It answers the jobs due at once.
local filing_key = KEYS[9]
local F = filing_key
if redis.call('HGET', F, 'status') ~= 'unknown' then return {} end
local now = args.now
due_limit = now
local id = redis.call('HGET', F, 'id')
local n = nsubj(F)
if n == 0 then
  count_status(F, 'under_review')
  redis.call('HSET', F, 'status', 'under_review', 'validated_at', int(now))
  bump(F, args.result_due, 'under_review')
  schedule(due_key, seq_key, args.review_due, JOB.review, {id})
  return finish({})
end
local v = redis.call('HINCRBY', F, 'version', 1)
count_status(F, 'pending_validation')
redis.call('HSET', F, 'status', 'pending_validation', 'prov_status', 'pending_validation', 'prov_version', v,
  'codes_sent_at', int(now), 'deadline', int(args.deadline))
emit_status(F, 'miit', 'pending_validation')
emit_status(F, 'provider', 'pending_validation')
for i = 1, n do
  local s = args.subjects[i]
  local code = new_code(s.candidates)
  if not code then return redis.error_reply('no free code among the candidates') end
  redis.call('HSET', F, 's' .. i .. '.code', code)
  schedule(due_key, seq_key, s.code_due, JOB.code, {id, i, subj(F, i, 'phone'), code, args.window})
end
schedule(due_key, seq_key, args.deadline, JOB.expire, {id})
if args.autoresend then schedule(due_key, seq_key, args.autoresend, JOB.autoresend, {id}) end
return finish({})
