-- result brings MIIT's state of version args.version to the provider at
-- args.at: its status unless the provider shows a newer one (a customer's
-- cancel is known at once), its validated roles unless newer ones arrived.
-- It answers 0 when the order is gone.
local filing_key, events_key = KEYS[1], KEYS[2]
local F = filing_key
if not redis.call('HGET', F, 'id') then return 0 end
local v = tonumber(args.version)
local changed = false
if v > tonumber(redis.call('HGET', F, 'prov_version')) then
  redis.call('HSET', F, 'prov_version', args.version, 'prov_status', args.status)
  changed = true
end
if v > tonumber(redis.call('HGET', F, 'prov_flags_version') or '0') then
  redis.call('HSET', F, 'prov_flags_version', args.version, 'prov_validated', args.validated)
  changed = true
end
if changed then
  local st = redis.call('HMGET', F, 'id', 'prov_status', 'prov_validated')
  emit(events_key, args.at, KIND.filing_status, {id = st[1], view = 'provider', status = st[2], validated = st[3]})
end
return 1
