-- One heartbeat of one consumer, in one atomic step: re-asserts its membership of celeriac.consumers (a consumer
-- reaped while it was cut off, or whose registration a Redis restart lost, is registered again at its next beat),
-- refreshes its heartbeat key, and records when the last heartbeat of anyone arrived, on Redis's clock, so that a
-- gap (Redis down, paused or restarted) is noticed and reaping held (liveness.lua).
--
-- KEYS: celeriac.consumers, celeriac.consumer.<id>, celeriac.heartbeat.last, celeriac.reap.after
-- ARGV: consumer id, heartbeat TTL (ms), gap (ms), hold (ms)
-- Returns {1 if the consumer had to be registered (again), else 0; reap after (ms); now (ms)}.
local now = redis_now_ms()
local after = reap_after(KEYS[3], KEYS[4], now, tonumber(ARGV[3]), tonumber(ARGV[4]))
redis.call('SET', KEYS[3], now)
redis.call('SET', KEYS[2], now, 'PX', ARGV[2])
local added = redis.call('SADD', KEYS[1], ARGV[1])
return {added, after, now}
