-- Records a finished chord part in Celery's keys and says whether it completed the chord
-- (Celery's RedisBackend.on_chord_part_return, made atomic and safe to repeat).
-- KEYS[1] celery-taskset-meta-<group>.j  sorted set of [1, task id, state, result] scored by group index
-- KEYS[2] celery-taskset-meta-<group>.t  size adjustment (Celery's add_to_chord)
-- KEYS[3] celery-taskset-meta-<group>.s  chord size (set when the chord was sent)
-- ARGV[1] member  ARGV[2] score (group index or +inf)  ARGV[3] task id  ARGV[4] expiry in seconds (0: none)
-- Returns the members in group order if this part completed the chord, else false.
--
-- A part recorded again (its message redelivered after a kill) replaces its first record instead of counting
-- twice. Its first record has the same score, so only the members at that score are decoded to find it. No key of
-- our own is kept for this: a Python worker that counts the last part deletes .j, .t and .s, and nothing else.
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2])) do
  if old ~= ARGV[1] then
    local ok, part = pcall(cjson.decode, old)
    if ok and type(part) == 'table' and part[2] == ARGV[3] then
      redis.call('ZREM', KEYS[1], old)
    end
  end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  for i = 1, 3 do
    redis.call('EXPIRE', KEYS[i], ttl)
  end
end
local size = redis.call('GET', KEYS[3])
if not size then
  return false
end
local total = tonumber(size) + tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('ZCARD', KEYS[1]) == total then
  return redis.call('ZRANGE', KEYS[1], 0, -1)
end
return false
