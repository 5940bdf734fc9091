-- schedule adds a job of args.kind with args.job_args, due at args.due,
-- and answers its stored form.
local due_key, seq_key = KEYS[1], KEYS[2]
return schedule(due_key, seq_key, args.due, args.kind, args.job_args)
