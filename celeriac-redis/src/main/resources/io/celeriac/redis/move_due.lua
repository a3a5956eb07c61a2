-- Moves due scheduled (ETA) messages onto their lists. The caller read the due members and worked out each one's
-- list; a member is moved only if this call removed it (ZREM returned 1) and it is still due, so any number of
-- movers may run at once without a message being queued twice.
--
-- KEYS: celeriac.scheduled (zset, member = <byte length of list key>:<list key><message>), dead-letter list, then
--       the target lists
-- ARGV: now (epoch s), then 3 values per member: member; target (index in KEYS of its list, or 0: the member
--       cannot be read, dead-letter it); for a list, the bytes before the message; for the dead-letter list, the
--       record
-- Returns the number moved.
local now = tonumber(ARGV[1])
local moved = 0
for i = 2, #ARGV, 3 do
  local member, target = ARGV[i], tonumber(ARGV[i + 1])
  local score = tonumber(redis.call('ZSCORE', KEYS[1], member))
  if score and score <= now and redis.call('ZREM', KEYS[1], member) == 1 then
    if target == 0 then
      redis.call('LPUSH', KEYS[2], ARGV[i + 2])
    else
      redis.call('LPUSH', KEYS[target], string.sub(member, tonumber(ARGV[i + 2]) + 1))
    end
    moved = moved + 1
  end
end
return moved
