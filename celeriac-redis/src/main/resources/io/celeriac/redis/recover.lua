-- Reaps one Celeriac consumer that stopped heartbeating: its unacked messages go back to their queues at once, as
-- kombu's restore does (RPUSH to the plain queue list, so they are served next), without waiting for the visibility
-- timeout. The caller read the consumer's tags and unacked entries and worked out each message's list; this script
-- re-checks everything and acts only on what is unchanged, so it touches no key that is not in KEYS.
--
-- Nothing is reaped while reaping is on hold after a gap in heartbeats (liveness.lua), nor while the consumer's
-- heartbeat key exists, nor once it is no longer registered (another consumer reaped it first).
--
-- KEYS: celeriac.consumers, celeriac.consumer.<id>, celeriac.unacked.<id>, unacked, unacked_index,
--       celeriac.heartbeat.last, celeriac.reap.after, dead-letter list, then the lists messages go back to
-- ARGV: consumer id, gap (ms), hold (ms), then 5 values per entry: tag; SHA-1 of its unacked value as read ('' if
--       it had none); target (index in KEYS of its list, or 0: dead-letter it); for a list, the first and last byte
--       of the message inside the value; for the dead-letter list, the record and ''
-- Returns {outcome, restored, reap after (ms), tags taken off the consumer's set}; outcome: -1 on hold, 0 alive (or
-- already reaped), 1 reaped and unregistered, 2 entries left for another call.
local now = redis_now_ms()
local after = reap_after(KEYS[6], KEYS[7], now, tonumber(ARGV[2]), tonumber(ARGV[3]))
if now < after then
  return {-1, 0, after, 0}
end
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  return {0, 0, after, 0}
end
local restored, removed = 0, 0
for i = 4, #ARGV, 5 do
  local tag, sha, target = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if redis.call('SISMEMBER', KEYS[3], tag) == 1 then
    local v = redis.call('HGET', KEYS[4], tag)
    if not v then
      -- Settled or restored by someone else since: nothing to bring back.
      redis.call('SREM', KEYS[3], tag)
      redis.call('ZREM', KEYS[5], tag)
      removed = removed + 1
    elseif redis.sha1hex(v) == sha then
      if target == 0 then
        redis.call('LPUSH', KEYS[8], ARGV[i + 3])
      else
        -- The message exactly as it was published, cut out of [message, exchange, routing_key]; re-encoding
        -- would alter it.
        redis.call('RPUSH', KEYS[target], string.sub(v, tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])))
      end
      redis.call('HDEL', KEYS[4], tag)
      redis.call('ZREM', KEYS[5], tag)
      redis.call('SREM', KEYS[3], tag)
      restored = restored + 1
      removed = removed + 1
    end
    -- A value that changed since it was read is left for the next call.
  end
end
if redis.call('SCARD', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[1], ARGV[1])
  return {1, restored, after, removed}
end
return {2, restored, after, removed}
