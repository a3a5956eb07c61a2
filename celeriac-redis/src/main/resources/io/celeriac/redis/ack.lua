-- Acks delivered messages: removes each from kombu's unacked hash and index and from the consumer's own set, but
-- only if the consumer still holds it. A consumer that was reaped (presumed dead after missing heartbeats) and came
-- back still finishes the tasks it had; by then their messages were restored and may be held by another consumer
-- under the same tag, whose bookkeeping such a late ack must not remove.
--
-- KEYS: unacked, unacked_index, celeriac.unacked.<consumer>
-- ARGV: tags
-- Returns the number acked.
--
-- Batched: one SMISMEMBER says which tags are still held, then one SREM, HDEL and ZREM take them all (in slices:
-- unpack() has a limit on how many values it spreads), rather than three commands per tag.
local n = 0
for i = 1, #ARGV, 1000 do
  local j = math.min(i + 999, #ARGV)
  local held = redis.call('SMISMEMBER', KEYS[3], unpack(ARGV, i, j))
  local tags = {}
  for k = 1, #held do
    if held[k] == 1 then
      tags[#tags + 1] = ARGV[i + k - 1]
    end
  end
  if #tags > 0 then
    redis.call('SREM', KEYS[3], unpack(tags))
    redis.call('HDEL', KEYS[1], unpack(tags))
    redis.call('ZREM', KEYS[2], unpack(tags))
    n = n + #tags
  end
end
return n
