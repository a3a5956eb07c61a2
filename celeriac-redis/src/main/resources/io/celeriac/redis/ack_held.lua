-- Prepended to ack.lua and reserve.lua: acking a batch of tags, only those the consumer still holds.

-- Removes ARGV[from..to] from the unacked hash, its index and the consumer's set, but only the tags the consumer
-- still holds: a consumer that was reaped and came back still finishes its tasks; by then their messages were
-- restored and may be held by another consumer under the same tag, whose bookkeeping such a late ack must not remove.
-- One SMISMEMBER, then one SREM, HDEL and ZREM per slice (unpack() has a limit on how many values it spreads), rather
-- than three commands per tag. Returns how many were acked.
local function ack_held(unacked, index, mine, from, to)
  local n = 0
  for i = from, to, 1000 do
    local j = math.min(i + 999, to)
    local held = redis.call('SMISMEMBER', mine, unpack(ARGV, i, j))
    local tags = {}
    for k = 1, #held do
      if held[k] == 1 then
        tags[#tags + 1] = ARGV[i + k - 1]
      end
    end
    if #tags > 0 then
      redis.call('SREM', mine, unpack(tags))
      redis.call('HDEL', unacked, unpack(tags))
      redis.call('ZREM', index, unpack(tags))
      n = n + #tags
    end
  end
  return n
end
