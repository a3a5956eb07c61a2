-- Settles delivered messages in one atomic step: removes their unacked bookkeeping and, depending on the mode,
-- puts them back at the front of their list, schedules them, or dead-letters them. The raw message travels in ARGV
-- so that nothing depends on the unacked entry still being there.
--
-- KEYS: unacked, unacked_index, celeriac.unacked.<consumer>, target (list, schedule zset or dead-letter list)
-- ARGV: mode ('requeue' | 'defer' | 'dead'), then per message: tag, payload, extra
--   requeue: extra unused (target = the message's own list; one script call per list)
--   defer:   extra = ETA score; member = <len>:<list><payload>
--   dead:    extra = dead-letter record JSON (already holds the payload)
local mode = ARGV[1]
local n = 0
for i = 2, #ARGV, 3 do
  local tag, payload, extra = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local removed = redis.call('HDEL', KEYS[1], tag)
  redis.call('ZREM', KEYS[2], tag)
  redis.call('SREM', KEYS[3], tag)
  if removed == 1 or mode == 'dead' then
    if mode == 'requeue' then
      redis.call('RPUSH', KEYS[4], payload)
    elseif mode == 'defer' then
      redis.call('ZADD', KEYS[4], extra, payload)
    else
      redis.call('LPUSH', KEYS[4], extra)
    end
    n = n + 1
  end
end
return n
