-- Claims the answer of a POST with an Idempotency-Key (Namespace.ClaimAnswer).
-- KEYS[1] the answer's key. args: claim, the record of a request in
-- progress (JSON: its fingerprint); lease_ms, how long the claim holds.
-- Answers the record the key holds — a request in progress, or its answer —
-- or, when it holds none, false, having written the claim.
local answer_key = KEYS[1]

local held = redis.call('GET', answer_key)
if held then
  return held
end
redis.call('SET', answer_key, args.claim, 'PX', args.lease_ms)
return false
