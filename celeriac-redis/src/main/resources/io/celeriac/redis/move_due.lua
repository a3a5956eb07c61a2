-- Moves scheduled (ETA) messages that are due onto their lists. Atomic, so any number of consumers may run it at
-- once without a message being queued twice.
-- KEYS: celeriac.scheduled (zset, member = <len>:<list><payload>)
-- ARGV: now (epoch seconds), batch size
-- Returns the number moved.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local colon = string.find(member, ':', 1, true)
  local len = tonumber(string.sub(member, 1, colon - 1))
  local list = string.sub(member, colon + 1, colon + len)
  local payload = string.sub(member, colon + len + 1)
  redis.call('LPUSH', list, payload)
  redis.call('ZREM', KEYS[1], member)
end
return #due
