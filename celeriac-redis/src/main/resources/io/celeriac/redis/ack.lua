-- Acks delivered messages: removes each from kombu's unacked hash and index and from the consumer's own set, but
-- only if the consumer still holds it. A consumer that was reaped (presumed dead after missing heartbeats) and came
-- back still finishes the tasks it had; by then their messages were restored and may be held by another consumer
-- under the same tag, whose bookkeeping such a late ack must not remove.
--
-- KEYS: unacked, unacked_index, celeriac.unacked.<consumer>
-- ARGV: tags
-- Returns the number acked.
local n = 0
for i = 1, #ARGV do
  if redis.call('SREM', KEYS[3], ARGV[i]) == 1 then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n
