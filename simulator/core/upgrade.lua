-- upgrade brings the keys of a namespace written by an earlier version to
-- this one's schema (KEYS.md): the count of orders by status, once the
-- fields orders:<status> of the hash of sequence numbers, is added to the
-- hash of its own. Adding, not setting, keeps the count right while
-- processes of both versions ran on the store. It answers the live codes of
-- the set that held them before each had its key (codes_key), for
-- upgrade_codes to move.
local seq_key, by_status_key, codes_key = KEYS[1], KEYS[2], KEYS[3]
local h = redis.call('HGETALL', seq_key)
for i = 1, #h, 2 do
  local status = string.match(h[i], '^orders:(.+)$')
  if status then
    redis.call('HINCRBY', by_status_key, status, h[i + 1])
    redis.call('HDEL', seq_key, h[i])
  end
end
return redis.call('SMEMBERS', codes_key)
