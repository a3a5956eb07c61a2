-- Prepended to heartbeat.lua and recover.lua: liveness is judged on Redis's own clock, and a gap in everyone's
-- heartbeats puts reaping on hold.

-- Redis's clock in milliseconds. Heartbeat keys expire on this clock, so liveness is judged on it too, never on a
-- consumer's.
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- When no consumer's heartbeat reached Redis for more than `gap` ms, Redis was unreachable, paused or restarted
-- (from AOF or RDB every TTL is an absolute time, so it passed while Redis was down), or its clock jumped: live
-- consumers' heartbeat keys may have expired for that reason alone. Reaping is then held until `hold` ms from now,
-- time for every live consumer to beat again. A missing last-heartbeat key counts as a gap (a restart that lost it,
-- or the first consumer ever). Returns the time (ms, Redis's clock) before which nobody may be reaped.
local function reap_after(last_key, after_key, now, gap, hold)
  local last = tonumber(redis.call('GET', last_key))
  local after = tonumber(redis.call('GET', after_key)) or 0
  if after > now + hold then
    -- The clock went back since the hold was set: a hold never reaches further than `hold` from now.
    after = now + hold
    redis.call('SET', after_key, after, 'PX', hold)
  end
  if last == nil or now - last > gap or last - now > gap then
    if now + hold > after then
      after = now + hold
      redis.call('SET', after_key, after, 'PX', hold)
    end
  end
  return after
end
