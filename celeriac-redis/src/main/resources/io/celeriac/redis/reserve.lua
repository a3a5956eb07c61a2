-- Takes up to ARGV[1] messages from the lists in KEYS and records each as unacked, in one atomic step, so a consumer
-- killed at any instant loses nothing: a message is either still in its list or in kombu's `unacked` hash (and our
-- consumer's set), never in neither.
--
-- Which list serves next is kombu's rule (kombu/transport/redis.py: _brpop_start builds BRPOP's keys priority-major,
-- every queue's priority-0 list, then every queue's 3, 6 and 9 lists, each step with the queues in the current
-- order; _brpop_read then moves the queue that delivered to the end of that order, round_robin_cycle.rotate). kombu
-- pays a BRPOP per message for it; here every message is taken as if by its own BRPOP, inside the script, and the
-- order is handed back so the next call carries on where this one stopped. A list found empty stays empty for the
-- rest of the call (nothing else runs while a script does). So a busy queue cannot starve the others: with two
-- queues, messages alternate between them.
--
-- A call whose answer was lost (Redis went away after running it) must not strand what it took. Each call that takes
-- messages notes them in the hash celeriac.reserving.<consumer>, under its call id (per message: list index, message
-- length, tag). A consumer may have two calls under way at once, so a call is told the ids of the calls whose answers
-- were lost (it first puts back on their lists, to be served next, the messages of those calls the consumer still
-- holds) and of those still under way, whose notes it keeps: any other note of an earlier call belongs to a call
-- that was answered and is deleted. Calls on one connection run in the order they were sent, so a call under way ran before this one or
-- never will. The queue order is kept in the same hash (field "order <queues>"): each call starts where the last
-- one Redis ran stopped, even while the last answer is still on its way; the order sent is used when none is kept.
--
-- KEYS: lists (queue by queue, each queue's steps 0, 3, 6, 9), unacked (hash), unacked_index (zset),
--       celeriac.unacked.<consumer> (set), dead-letter list, celeriac.reserving.<consumer> (hash), then the r result
--       keys to write (celery-task-meta-<id>, in the result backend's database)
-- ARGV: max, now (epoch seconds), this call's id (also the dead-letter id prefix), the ids of calls whose answers
--       were lost, space-separated ('' if none), the ids of this consumer's calls still under way ('' if none), the
--       queues' name (for their order), the number of tags to ack first (k), those k tags, the number of results to
--       store first (r), if r > 0: this connection's database, the result backend's database, expiry in ms ('' for
--       none), then the r results' JSON in the order of their keys; then the queue order: queue numbers from 1, next
--       served first
--
-- Storing results and acking first, in the same call, is the worker's hot path with acks late: the tasks just
-- finished leave their results and make room for the next messages in one round trip, and nothing is ever held
-- beyond that room. Results are written as Celery's Redis backend writes them (SET with expiry, then PUBLISH on the
-- key's channel, for waiters; skipped where nobody listens, which is all PUBLISH would do there), before any ack, so
-- a message is never acked without its result; a failed SET stops the call before the acks. As in ack.lua, only
-- tags this consumer still holds are removed.
-- Returns the new queue order (one number per queue), then per message a triple: list index in KEYS (negative:
-- dead-lettered as malformed), delivery tag, raw message.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = string.byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2 = math.floor(n / 262144), math.floor(n / 4096) % 64
    local c3, c4 = math.floor(n / 64) % 64, n % 64
    out[#out + 1] = string.sub(B64, c1 + 1, c1 + 1) .. string.sub(B64, c2 + 1, c2 + 1)
      .. (b and string.sub(B64, c3 + 1, c3 + 1) or '=') .. (c and string.sub(B64, c4 + 1, c4 + 1) or '=')
  end
  return table.concat(out)
end

-- The text of a JSON string value (quotes included) under the key `name .. tail` when that key occurs exactly once
-- in the envelope, and where the key starts; nil when it is missing or repeated, or its value is not a string
-- without escapes. A quoted name followed by a colon can only be an object key (inside a JSON string every quote is
-- escaped), so a unique match is the key itself. The search is for the tail, from a character that is rare in an
-- envelope ('_', never in base64): Lua's plain find stops at every occurrence of the first character.
local function only_string(raw, name, tail)
  local s, e = string.find(raw, tail, 1, true)
  if not s or string.find(raw, tail, e + 1, true) then
    return nil
  end
  local from = s - #name
  if from < 1 or string.sub(raw, from, s - 1) ~= name then
    return nil
  end
  local q = e + 1
  while string.byte(raw, q) == 32 do
    q = q + 1 -- Python's json.dumps writes '": "', Jackson '":"'
  end
  if string.byte(raw, q) ~= 34 then
    return nil
  end
  local close = string.find(raw, '"', q + 1, true)
  if not close then
    return nil
  end
  local value = string.sub(raw, q, close)
  if string.find(value, '\\', 1, true) then
    return nil
  end
  return value, from
end

-- The envelope's delivery tag and its delivery_info's exchange and routing key (as JSON text), found rather than
-- decoded: cjson.decode was the largest part of this script's cost per message. Taken only when each occurs once,
-- after the one "properties" key, as plain strings; anything else is decoded in full.
local function envelope_fields(raw)
  local tag, at = only_string(raw, '"delivery', '_tag":')
  if not tag then
    return nil
  end
  local ex, exat = only_string(raw, '"e', 'xchange":')
  local rk, rkat = only_string(raw, '"routing', '_key":')
  local ps, pe = string.find(raw, 'roperties":', 1, true)
  if not ex or not rk or not ps or string.sub(raw, ps - 2, ps - 1) ~= '"p' or ps > at or ps > exat or ps > rkat
      or string.find(raw, 'roperties":', pe + 1, true) then
    return nil
  end
  return string.sub(tag, 2, -2), ex, rk
end

local nacks = tonumber(ARGV[7])
local at = 8 + nacks
local nresults = tonumber(ARGV[at])
local n = #KEYS - 5 - nresults
local unacked, index, mine, dlq, reserving = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], KEYS[n + 4], KEYS[n + 5]
local max = tonumber(ARGV[1])
local now = ARGV[2]
-- unacked_index's score, in whole seconds rounded up (never restored before its time, at most a second after): a
-- small index is a listpack, where each insert compares scores along the list, and a score with a fraction is kept
-- as text and parsed again (strtod, 17 digits) at every comparison; a whole number is kept as an integer.
local score = tostring(math.ceil(tonumber(now)))
local lost = ARGV[4]
local first_order = at + 1
if nresults > 0 then
  local here, db, px = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  -- The backend may use another database of this server (Celery's own default: broker /0, results /1). The
  -- connection's database is selected again before anything can fail the call.
  if db ~= here then
    redis.call('SELECT', db)
  end
  local err
  -- A PUBLISH nobody listens to does nothing, and each call costs: with several results, ask once who listens (any
  -- pattern subscriber, then each key's channel) and publish where someone does. Nothing can subscribe in between:
  -- a script runs alone.
  local listening
  if nresults >= 3 and redis.call('PUBSUB', 'NUMPAT') == 0 then
    listening = redis.call('PUBSUB', 'NUMSUB', unpack(KEYS, n + 6, n + 5 + nresults))
  end
  for k = 1, nresults do
    local key, json = KEYS[n + 5 + k], ARGV[at + 3 + k]
    local r
    if px == '' then
      r = redis.pcall('SET', key, json)
    else
      r = redis.pcall('SET', key, json, 'PX', px)
    end
    if type(r) == 'table' and r.err then
      err = r.err
      break
    end
    if not listening or listening[2 * k] > 0 then
      redis.pcall('PUBLISH', key, json)
    end
  end
  if db ~= here then
    redis.call('SELECT', here)
  end
  if err then
    return redis.error_reply(err)
  end
  first_order = at + 4 + nresults
end
ack_held(unacked, index, mine, 8, 7 + nacks)
local order_field = 'order ' .. ARGV[6]
local keep = {}
for id in string.gmatch(ARGV[5], '%S+') do
  keep[id] = true
end
-- The notes there are, read once: a note is fetched only if it is here (most calls have none to restore).
local fields = redis.call('HKEYS', reserving)
local present = {}
for _, field in ipairs(fields) do
  present[field] = true
end
-- This very call may have run already: Lettuce sends a command again after a reconnect when the connection dropped
-- before its answer came (its at-least-once mode). Then its note is here: what that run took is put back like a lost
-- call's and taken again below, so the answer that does arrive holds it, and nothing is stranded.
do
  local ids = {}
  for id in string.gmatch(lost, '%S+') do
    ids[#ids + 1] = id
  end
  ids[#ids + 1] = ARGV[3]
  -- Latest call first, each from its last message: RPUSH puts each at the served end, so they come out again in
  -- their first order.
  for c = #ids, 1, -1 do
    local note = present[ids[c]] and redis.call('HGET', reserving, ids[c])
    if note then
      local lines = {}
      for line in string.gmatch(note, '[^\n]+') do
        lines[#lines + 1] = line
      end
      for k = #lines, 1, -1 do
        local li, len, tag = string.match(lines[k], '^(%d+) (%d+) (.*)$')
        if tag and redis.call('SISMEMBER', mine, tag) == 1 then
          local v = redis.call('HGET', unacked, tag)
          if v then
            redis.call('RPUSH', KEYS[tonumber(li)], string.sub(v, 2, 1 + tonumber(len)))
          end
          redis.call('HDEL', unacked, tag)
          redis.call('ZREM', index, tag)
          redis.call('SREM', mine, tag)
        end
      end
    end
  end
end
-- Only notes of earlier calls (call ids end in a sequence number): a call sent again after a reconnect runs after
-- calls sent later than it, whose notes it must leave to them.
local gone = {}
local me = tonumber(string.match(ARGV[3], '(%d+)$'))
for _, field in ipairs(fields) do
  if not keep[field] and string.sub(field, 1, 6) ~= 'order ' then
    local n = tonumber(string.match(field, '(%d+)$'))
    if not me or not n or n <= me then
      gone[#gone + 1] = field
    end
  end
end
if #gone > 0 then
  redis.call('HDEL', reserving, unpack(gone))
end
local order = {}
for i = first_order, #ARGV do
  order[#order + 1] = tonumber(ARGV[i])
end
-- One queue has one order: nothing to keep.
local kept = #order > 1 and present[order_field] and redis.call('HGET', reserving, order_field)
if kept then
  local o = {}
  for q in string.gmatch(kept, '%d+') do
    o[#o + 1] = tonumber(q)
  end
  if #o == #order then
    order = o
  end
end
local queues = #order
local steps = n / queues
local empty = {}
local found = {}
local popped, dead = 0, 0
local hset, zadd, tags, notes, lens = {}, {}, {}, {}, {}
-- One queue: each list is popped in one call (RPOP with a count), what kombu's BRPOP would take one at a time from
-- the same list. Several queues: one message per call, the order rotating after each.
local batch = {}
local bi, bn = 1, 0
while popped < max do
  local li, raw
  if bi <= bn then
    li, raw = batch.li, batch[bi]
    bi = bi + 1
  else
    -- The next list kombu's BRPOP would take from: lowest step first, queues in order, skipping lists found empty.
    local pos
    for s = 1, steps do
      for p = 1, queues do
        local k = (order[p] - 1) * steps + s
        if not empty[k] then
          li, pos = k, p
          break
        end
      end
      if li then break end
    end
    if not li then break end
    if queues == 1 then
      local want = max - popped
      local got = redis.call('RPOP', KEYS[li], want)
      if not got then
        got = {}
      end
      if #got < want then
        empty[li] = true
      end
      batch = got
      batch.li = li
      bi, bn = 2, #got
      raw = got[1]
    else
      raw = redis.call('RPOP', KEYS[li])
      if not raw then
        empty[li] = true
      else
        local served = table.remove(order, pos)
        order[#order + 1] = served
      end
    end
  end
  if raw then
    popped = popped + 1
    local tag, exjson, rkjson = envelope_fields(raw)
    if not tag then
      local ok, env = pcall(cjson.decode, raw)
      local ex, rk
      if ok and type(env) == 'table' and type(env.properties) == 'table' then
        tag = env.properties.delivery_tag
        local info = env.properties.delivery_info
        if type(info) == 'table' then
          ex = info.exchange
          rk = info.routing_key
        end
      end
      if type(ex) ~= 'string' then ex = '' end
      if type(rk) ~= 'string' then rk = '' end
      exjson, rkjson = cjson.encode(ex), cjson.encode(rk)
    end
    if type(tag) ~= 'string' then
      -- Not a kombu envelope: nothing could ever ack it. Keep it, with the reason, where an operator will look.
      -- Bytes that may not be UTF-8 are kept as base64 so that reading the record as text cannot alter them.
      dead = dead + 1
      local id = ARGV[3] .. '-' .. dead
      local record = {id = id, queue = KEYS[li], time = tonumber(now),
        reason = 'malformed message: not a JSON kombu envelope with a delivery_tag', payload = raw}
      if string.find(raw, '[\128-\255]') then
        record.payload = base64(raw)
        record.payload_encoding = 'base64'
      end
      redis.call('LPUSH', dlq, cjson.encode(record))
      found[#found + 1] = -li
      found[#found + 1] = id
      found[#found + 1] = raw
    else
      -- kombu's value format: JSON [message, exchange, routing_key]; the raw message is embedded unchanged.
      -- Recorded below for the whole batch, three commands in all rather than three per message.
      hset[#hset + 1] = tag
      hset[#hset + 1] = '[' .. raw .. ', ' .. exjson .. ', ' .. rkjson .. ']'
      zadd[#zadd + 1] = score
      zadd[#zadd + 1] = tag
      tags[#tags + 1] = tag
      -- Number to text is slow in this Lua (sprintf): lengths repeat, so each is converted once per call.
      local key = li * 4294967296 + #raw
      local len = lens[key]
      if not len then
        len = li .. ' ' .. #raw .. ' '
        lens[key] = len
      end
      notes[#notes + 1] = len .. tag
      found[#found + 1] = li
      found[#found + 1] = tag
      found[#found + 1] = raw
    end
  end
end
-- In slices: unpack() has a limit on how many values it spreads.
for i = 1, #tags, 1000 do
  local j = math.min(i + 999, #tags)
  redis.call('HSET', unacked, unpack(hset, 2 * i - 1, 2 * j))
  redis.call('ZADD', index, unpack(zadd, 2 * i - 1, 2 * j))
  redis.call('SADD', mine, unpack(tags, i, j))
end
-- Kept an hour, as long as kombu's visibility timeout: long enough to outlast any outage it has to survive. The
-- order changes only when something was taken: a poll that finds the queues empty writes nothing.
if #notes > 0 and queues == 1 then
  redis.call('HSET', reserving, ARGV[3], table.concat(notes, '\n'))
elseif #notes > 0 then
  redis.call('HSET', reserving, ARGV[3], table.concat(notes, '\n'), order_field, table.concat(order, ' '))
elseif popped > 0 and queues > 1 then
  redis.call('HSET', reserving, order_field, table.concat(order, ' '))
end
if popped > 0 then
  redis.call('PEXPIRE', reserving, 3600000)
end
local out = order
for i = 1, #found do
  out[queues + i] = found[i]
end
return out
