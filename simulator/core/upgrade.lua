-- upgrade brings the keys of a namespace written by an earlier version to
-- this one's schema (KEYS.md): the count of orders by status, once the
-- fields orders:<status> of the hash of sequence numbers, is added to the
-- hash of its own. Adding, not setting, keeps the count right while
-- processes of both versions ran on the store. It answers the live codes of
-- the set that held them before each had its key (codes_key), for
-- upgrade_codes to move. The numbers the namespace knows, once a set
-- (phones_key), become a sorted set by when each was last written to: all
-- now.
local seq_key, by_status_key, codes_key, phones_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('TYPE', phones_key).ok == 'set' then
  local numbers = redis.call('SMEMBERS', phones_key)
  redis.call('DEL', phones_key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for _, n in ipairs(numbers) do redis.call('ZADD', phones_key, now, n) end
end
local h = redis.call('HGETALL', seq_key)
for i = 1, #h, 2 do
  local status = string.match(h[i], '^orders:(.+)$')
  if status then
    redis.call('HINCRBY', by_status_key, status, h[i + 1])
    redis.call('HDEL', seq_key, h[i])
  end
end
return redis.call('SMEMBERS', codes_key)
