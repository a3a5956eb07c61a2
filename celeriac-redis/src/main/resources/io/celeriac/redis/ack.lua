-- Acks delivered messages (ack_held.lua, prepended, says which and why only held ones).
--
-- KEYS: unacked, unacked_index, celeriac.unacked.<consumer>
-- ARGV: tags
-- Returns the number acked.
return ack_held(KEYS[1], KEYS[2], KEYS[3], 1, #ARGV)
