-- result brings MIIT's state of version args.version to the provider at
-- args.at (the library's apply_result). It answers 0 when the order is
-- gone, or refuses a stale snapshot (its bounds).
local filing_key = KEYS[9]
local F = filing_key
if stale(clock_key, faults_key) then return STALE end
if not order(F).id then return 0 end
apply_result(F, args.version, args.status, args.validated, args.at)
touch_order(F)
return 1
