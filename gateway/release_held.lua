-- release_held makes due again at args.now (simulated ms) the deliveries
-- held by an outage (their job's third argument args.held) that a change
-- of the fault profile took away or changed (args.gone: each one's end,
-- when its deliveries were due, and the prefixes of the numbers it
-- covered): each goes back to the due set marked args.mark, for the
-- outages as they stand to decide. A delivery due at the same end to a
-- number the outage did not cover (another outage's) is left. It answers
-- the jobs made due, for the caller to carry out.
--
-- KEYS: the scheduler's due set, the sequence hash.
local due_key, seq_key = KEYS[1], KEYS[2]
local function covers(prefixes, phone)
  for _, p in ipairs(prefixes) do
    if string.sub(phone, 1, #p) == p then return true end
  end
  return false
end
local out = {}
for _, o in ipairs(args.gone) do
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', due_key, int(o['end']), int(o['end']))) do
    local job = job_decode(m)
    if job.kind == JOB.deliver and job.args[3] == args.held and covers(o.prefixes, job.args[2])
        and redis.call('ZREM', due_key, m) == 1 then
      out[#out + 1] = schedule(due_key, seq_key, args.now, JOB.deliver, {job.args[1], job.args[2], args.mark})
    end
  end
end
return out
