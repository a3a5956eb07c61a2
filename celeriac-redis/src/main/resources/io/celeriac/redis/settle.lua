-- Settles delivered messages in one atomic step: removes their unacked bookkeeping and, depending on the mode,
-- puts them back at the front of their list, schedules them, or dead-letters them. The raw message travels in ARGV
-- so that nothing depends on the unacked entry still being there.
--
-- Only messages the consumer still holds are requeued or scheduled: one that was reaped had its messages restored
-- already, and putting them back again would queue them twice. A dead letter is always written (the worker also
-- dead-letters copies of messages it acked on start), and removes the bookkeeping only if it is still held.
--
-- KEYS: unacked, unacked_index, celeriac.unacked.<consumer>, target (list, schedule zset or dead-letter list)
-- ARGV: mode ('requeue' | 'defer' | 'dead'), then per message: tag, payload, extra
--   requeue: extra unused (target = the message's own list; one script call per list)
--   defer:   extra = ETA score; payload = the member <byte length of list key>:<list key><message>
--   dead:    extra = dead-letter record JSON (already holds the payload)
local mode = ARGV[1]
local n = 0
for i = 2, #ARGV, 3 do
  local tag, payload, extra = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local held = redis.call('SREM', KEYS[3], tag) == 1
  if held then
    redis.call('HDEL', KEYS[1], tag)
    redis.call('ZREM', KEYS[2], tag)
  end
  if held or mode == 'dead' then
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
