-- Records a dispatch key and publishes, atomically: of any number of callers with the same key, exactly one
-- publishes (beat's exactly-once dispatch of an entry's due time).
-- KEYS: once key, target list
-- ARGV: keep (ms), payload
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
