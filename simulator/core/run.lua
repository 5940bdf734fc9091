-- The end of a script's run form (core.Script, runs of the scheduler's
-- steps): the script above it is the function run_job, and ARGV holds the
-- arguments of the jobs of the run, in order — each job's JSON object,
-- then its texts (args.run.texts of them; core.Call's), which are its
-- TEXTS from TEXTS[2] on — whose keys follow each other in KEYS
-- (args.run.key of them, the run's mark last). It carries the jobs out one
-- after another, as their scripts would one call each: a job goes only
-- when the one before it came to its end (with_due_now), and a job's
-- refusal or failure is its answer, the last. It writes the run's mark
-- once, for the call after it, and answers the jobs' answers in order;
-- those it did not come to are left out.
-- A job whose args.run.same is true shares its expect and bounds with the
-- job before it, which core.Call left out of its arguments.
local all_keys, all_argv, answers, from, at, i = KEYS, ARGV, {}, 0, 1, 0
local expect_before, bounds_before = args.expect, args.bounds
run_form = true
while at <= #all_argv do
  i = i + 1
  if i > 1 then
    args = cjson.decode(all_argv[at])
    RUN = args.run
    if RUN.same then args.expect, args.bounds = expect_before, bounds_before end
    expect_before, bounds_before = args.expect, args.bounds
    BOUNDS = args.bounds or NO_BOUNDS
    unheard_counts = args.bounds ~= nil and args.bounds.unheard == true
  end
  TEXTS = {false}
  for k = 1, RUN.texts or 0 do TEXTS[k + 1] = all_argv[at + k] end
  at = at + 1 + (RUN.texts or 0)
  KEYS = {unpack(all_keys, from + 1, from + RUN.key)}
  from = from + RUN.key
  due_limit, due_now, next_due, first_scheduled, run_first, run_out = nil, {}, nil, nil, nil, nil
  local ok, answer = pcall(run_job)
  if not ok then
    answers[i] = {err = type(answer) == 'table' and answer.err or tostring(answer)}
    break
  end
  if answer == nil then answer = false end -- a hole would cut the answers short
  answers[i] = answer
  if not run_out then break end
  run_in = run_out
end
if held then publish_held() end -- a job failed after it held an event back
if run_in then redis.call('SET', KEYS[RUN.key], run_in.mark, 'PX', int(RUN.ttl)) end
return answers
