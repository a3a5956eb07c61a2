-- Puts unacked messages back on their queues, as kombu's restore does (RPUSH to the plain queue list, so they are
-- served next), in two cases:
--  1. every message of a Celeriac consumer whose heartbeat key has expired (it died): at once, no need to wait for
--     the visibility timeout;
--  2. kombu-compatible visibility timeout: any unacked entry older than ARGV[2] seconds whose owner is not a live
--     Celeriac consumer (Python workers' entries included), as kombu's restore_visible does for ours.
--
-- KEYS: celeriac.consumers (set), unacked, unacked_index
-- ARGV: now, visibility timeout (s), batch limit
-- Returns {dead consumers recovered, messages restored}.
local consumers, unacked, index = KEYS[1], KEYS[2], KEYS[3]
local now = tonumber(ARGV[1])

local function queue_of(exchange, routing_key)
  if exchange == nil or exchange == '' then
    return routing_key
  end
  -- A named exchange: find the bound queue as kombu's direct exchange does.
  for _, member in ipairs(redis.call('SMEMBERS', '_kombu.binding.' .. exchange)) do
    local rk, rest = string.match(member, '^(.-)\6\22(.*)$')
    if rk == routing_key then
      local _, q = string.match(rest, '^(.-)\6\22(.*)$')
      return q
    end
  end
  return routing_key
end

local function restore(tag)
  local v = redis.call('HGET', unacked, tag)
  redis.call('HDEL', unacked, tag)
  redis.call('ZREM', index, tag)
  if not v then return 0 end
  local ok, triple = pcall(cjson.decode, v)
  if not ok or type(triple) ~= 'table' then return 0 end
  local ex, rk = triple[2], triple[3]
  -- Recover the message text unchanged by cutting the known suffix off; re-encoding would alter it.
  local suffix = ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']'
  local payload
  if string.sub(v, -#suffix) == suffix then
    payload = string.sub(v, 2, #v - #suffix)
  else
    payload = cjson.encode(triple[1])
  end
  redis.call('RPUSH', queue_of(ex, rk), payload)
  return 1
end

local dead, restored = 0, 0
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', consumers)) do
  local set = 'celeriac.unacked.' .. id
  if redis.call('EXISTS', 'celeriac.consumer.' .. id) == 0 then
    for _, tag in ipairs(redis.call('SMEMBERS', set)) do
      restored = restored + restore(tag)
    end
    redis.call('DEL', set)
    redis.call('SREM', consumers, id)
    dead = dead + 1
  else
    live[#live + 1] = set
  end
end

local ceiling = now - tonumber(ARGV[2])
local old = redis.call('ZRANGEBYSCORE', index, 0, ceiling, 'LIMIT', 0, tonumber(ARGV[3]))
for _, tag in ipairs(old) do
  local owned = false
  for _, set in ipairs(live) do
    if redis.call('SISMEMBER', set, tag) == 1 then
      owned = true
      break
    end
  end
  if not owned then
    restored = restored + restore(tag)
  end
end
return {dead, restored}
