-- The dispatch ledger's claim (RedisDispatchLedger): hands out records pending for at least `idle` ms since they were
-- recorded or last claimed, longest waiting first, and restarts their wait in the same step, so two claimers never
-- take one record together. Records whose keep has passed (their once key expired with it) are dropped first.
-- KEYS: pending hash, attempts zset, expiries zset (as in ledger_record.lua)
-- ARGV: idle (ms), max
-- Returns: once key, pending value, once key, pending value, ...
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, k in ipairs(expired) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
  redis.call('ZREM', KEYS[3], k)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, k in ipairs(due) do
  local v = redis.call('HGET', KEYS[1], k)
  if v then
    redis.call('ZADD', KEYS[2], now, k)
    out[#out + 1] = k
    out[#out + 1] = v
  else
    redis.call('ZREM', KEYS[2], k)
  end
end
return out
