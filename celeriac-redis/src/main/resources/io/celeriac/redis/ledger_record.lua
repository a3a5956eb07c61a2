-- The dispatch ledger's record (RedisDispatchLedger): takes the once key and stores the message as pending in one
-- atomic step, so of any number of callers exactly one records a key, and never a key without its message. Times are
-- Redis's own clock, on which the key expires too.
-- KEYS: once key, pending hash (once key -> "<recorded ms> <message>"), attempts zset (once key -> last attempt ms),
--       expiries zset (once key -> expiry ms)
-- ARGV: keep (ms), message (OutboundMessageCodec's JSON)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('SET', KEYS[1], now, 'NX', 'PX', ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[2], KEYS[1], now .. ' ' .. ARGV[2])
redis.call('ZADD', KEYS[3], now, KEYS[1])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[1]), KEYS[1])
return 1
