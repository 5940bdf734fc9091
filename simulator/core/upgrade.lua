-- upgrade brings the keys of a namespace written by an earlier version to
-- this one's schema (KEYS.md): the count of orders by status, once the
-- fields orders:<status> of the hash of sequence numbers, is added to the
-- hash of its own. Adding, not setting, keeps the count right while
-- processes of both versions ran on the store. It answers the live codes of
-- the set that held them before each had its key (codes_key), for
-- upgrade_codes to move. The numbers the namespace knows, once a set
-- (phones_key), become a sorted set by when each was last written to: all
-- now. The live codes, once found by reading the whole database, are
-- listed in a sorted set of their own (live_key): in a store written
-- before, with a sequence hash but no field codes_indexed, the caller
-- lists them (index_codes.lua) and sets the field; in a new one, there is
-- nothing to list, and the field is set here. It answers {'1' when the
-- codes are to be listed, else '0', the codes of codes_key…}.
local seq_key, by_status_key, codes_key, phones_key, live_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
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
local to_index = '0'
if redis.call('HEXISTS', seq_key, 'codes_indexed') == 0 then
  if redis.call('EXISTS', seq_key) == 1 then
    to_index = '1'
  else
    redis.call('HSET', seq_key, 'codes_indexed', '1')
  end
end
local out = redis.call('SMEMBERS', codes_key)
table.insert(out, 1, to_index)
return out
