-- Takes up to ARGV[1] messages from the lists in KEYS[1..n] (served in that order) and records each as unacked,
-- in one atomic step, so a consumer killed at any instant loses nothing: a message is either still in its list or
-- in kombu's `unacked` hash (and our consumer's set), never in neither.
--
-- KEYS: lists..., unacked (hash), unacked_index (zset), celeriac.unacked.<consumer> (set), dead-letter list
-- ARGV: max, now (epoch seconds), dead-letter id prefix
-- Returns a flat array of triples: list index (negative = dead-lettered as malformed), delivery tag, raw message.
local n = #KEYS - 4
local unacked, index, mine, dlq = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], KEYS[n + 4]
local max = tonumber(ARGV[1])
local now = ARGV[2]
local out = {}
local taken = 0
local dead = 0
for i = 1, n do
  while taken < max do
    local raw = redis.call('RPOP', KEYS[i])
    if not raw then break end
    local ok, env = pcall(cjson.decode, raw)
    local tag, ex, rk
    if ok and type(env) == 'table' and type(env.properties) == 'table' then
      tag = env.properties.delivery_tag
      local info = env.properties.delivery_info
      if type(info) == 'table' then
        ex = info.exchange
        rk = info.routing_key
      end
    end
    if type(tag) ~= 'string' then
      -- Not a kombu envelope: nothing could ever ack it. Keep it, with the reason, where an operator will look.
      dead = dead + 1
      local id = ARGV[3] .. '-' .. dead
      redis.call('LPUSH', dlq, cjson.encode({id = id, queue = KEYS[i], time = tonumber(now),
        reason = 'malformed message: not a JSON kombu envelope with a delivery_tag', payload = raw}))
      out[#out + 1] = -i
      out[#out + 1] = id
      out[#out + 1] = raw
    else
      if type(ex) ~= 'string' then ex = '' end
      if type(rk) ~= 'string' then rk = '' end
      -- kombu's value format: JSON [message, exchange, routing_key]; the raw message is embedded unchanged.
      redis.call('HSET', unacked, tag, '[' .. raw .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
      redis.call('ZADD', index, now, tag)
      redis.call('SADD', mine, tag)
      out[#out + 1] = i
      out[#out + 1] = tag
      out[#out + 1] = raw
      taken = taken + 1
    end
  end
  if taken >= max then break end
end
return out
