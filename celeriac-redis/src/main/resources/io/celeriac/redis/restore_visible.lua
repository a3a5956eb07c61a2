-- kombu's visibility timeout (restore_visible in kombu/transport/redis.py): unacked entries reserved longer ago than
-- the timeout go back to their queue (RPUSH to the plain list, served next). The caller picked the entries that no
-- registered Celeriac consumer holds (a live one may run a task for longer than the timeout; a dead one is reaped by
-- recover.lua), read them and worked out their lists. An entry is restored only if it is still as read and still
-- that old: a reservation since then gives it a new score, so a message reserved again is never taken.
--
-- KEYS: unacked, unacked_index, dead-letter list, then the lists messages go back to
-- ARGV: ceiling (epoch s, the clock unacked_index is written on), then 5 values per entry as in recover.lua
-- Returns the number of messages restored.
local ceiling = tonumber(ARGV[1])
local restored = 0
for i = 2, #ARGV, 5 do
  local tag, sha, target = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local score = tonumber(redis.call('ZSCORE', KEYS[2], tag))
  if score and score <= ceiling then
    local v = redis.call('HGET', KEYS[1], tag)
    if not v then
      -- An index entry without its message, as kombu's restore leaves none either.
      redis.call('ZREM', KEYS[2], tag)
    elseif redis.sha1hex(v) == sha then
      if target == 0 then
        redis.call('LPUSH', KEYS[3], ARGV[i + 3])
      else
        redis.call('RPUSH', KEYS[target], string.sub(v, tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])))
      end
      redis.call('HDEL', KEYS[1], tag)
      redis.call('ZREM', KEYS[2], tag)
      restored = restored + 1
    end
  end
end
return restored
