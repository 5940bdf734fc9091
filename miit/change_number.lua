-- change_number gives the subject holding args.role of a cancellation order
-- the number args.phone at args.now (args.people: the order's people, JSON,
-- with the new number): the order moves from the old number's index to the
-- new one's, and, pending validation, the current code goes to the new
-- number at once. It answers {'ok', jobs due at once…}, else why not:
-- {'not_cancel', type}, {'state', status} or {'not_required'}.
local filing_key, old_who_key, new_who_key = KEYS[9], KEYS[10], KEYS[11]
local F = filing_key
local now = args.now
if stale(clock_key, faults_key) then return STALE end
due_limit = now
if order(F).type ~= 'cancel' then return {'not_cancel', order(F).type} end
local st = order(F).status
if st ~= 'unknown' and not live(F, now) then return {'state', st} end
local si = nil
for i = 1, nsubj(F) do
  if string.find(',' .. subj(F, i, 'roles') .. ',', ',' .. args.role .. ',', 1, true) then si = i end
end
if not si then return {'not_required'} end
local id = order(F).id
set_order(F, sfield(si, 'phone'), args.phone, 'people', args.people)
redis.call('SREM', old_who_key, id)
later_retire(args.old_phone)
redis.call('SADD', new_who_key, id)
keep(new_who_key)
touch_order(F)
if st == 'pending_validation' then
  schedule(due_key, seq_key, now, JOB.code, {id, si, args.phone, subj(F, si, 'code'), window(F)})
end
return finish({'ok'})
