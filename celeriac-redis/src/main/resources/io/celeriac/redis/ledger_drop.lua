-- The dispatch ledger's mark-sent and forget (RedisDispatchLedger): drops a record's pending message; forgetting also
-- deletes the once key, so the key may be recorded again at once (a sent key stays until it expires).
-- KEYS: once key, pending hash, attempts zset, expiries zset (as in ledger_record.lua)
-- ARGV: 'sent' | 'forget'
redis.call('HDEL', KEYS[2], KEYS[1])
redis.call('ZREM', KEYS[3], KEYS[1])
redis.call('ZREM', KEYS[4], KEYS[1])
if ARGV[1] == 'forget' then
  redis.call('DEL', KEYS[1])
end
return 1
