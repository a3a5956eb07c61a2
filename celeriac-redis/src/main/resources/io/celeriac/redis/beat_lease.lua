-- Beat's lease with a fencing token. The holder renews; anyone takes an expired lease and gets a new, larger token.
-- KEYS: lease key, token key
-- ARGV: holder, ttl (ms), mode ('acquire' | 'release')
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'release' then
  if current == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return nil
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  local token = redis.call('INCR', KEYS[2])
  return token
elseif current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]))
end
return nil
