-- Requeues or discards one dead-letter record atomically.
-- KEYS: dead-letter list, the record's queue list
-- ARGV: record (exact list value), mode ('requeue' | 'discard'), payload
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  if ARGV[2] == 'requeue' then
    redis.call('LPUSH', KEYS[2], ARGV[3])
  end
  return 1
end
return 0
