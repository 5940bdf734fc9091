-- release_held makes due again at args.now (simulated ms) the deliveries
-- held by an outage (their job's third argument args.held) that were due
-- at one of args.ends, the ends of the outages that changed: each goes
-- back to the due set marked args.mark, for the outages as they stand to
-- decide. It answers the jobs made due, for the caller to carry out.
--
-- KEYS: the scheduler's due set, the sequence hash.
local due_key, seq_key = KEYS[1], KEYS[2]
local out = {}
for _, e in ipairs(args.ends) do
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', due_key, int(e), int(e))) do
    local job = job_decode(m)
    if job.kind == JOB.deliver and job.args[3] == args.held and redis.call('ZREM', due_key, m) == 1 then
      out[#out + 1] = schedule(due_key, seq_key, args.now, JOB.deliver, {job.args[1], job.args[2], args.mark})
    end
  end
end
return out
