package io.celeriac.redis;

import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The dead-letter list ({@code celeriac.dead_letter}, newest first) read back and mended: records are JSON
 * ({@link DeadLetterRecords}); requeue and discard are one atomic {@code dead_letter_op.lua} call each, and a
 * requeued message goes back to its queue byte for byte.
 */
final class RedisDeadLetterQueue implements DeadLetterQueue {
    private static final LuaScript DEAD_LETTER_OP = new LuaScript("dead_letter_op");

    private final RedisConnector redis;
    private final MessageCodec codec;
    private final KombuEnvelope kombu;
    private final String name;
    private final java.util.function.Supplier<java.util.Collection<RedisKeys>> spaces;

    /**
     * @param name   the dead-letter list's name
     * @param spaces where dead letters are kept: kombu's layout has one list; a cluster one per queue, in its slot
     */
    RedisDeadLetterQueue(RedisConnector redis, MessageCodec codec, KombuEnvelope kombu, String name,
                         java.util.function.Supplier<java.util.Collection<RedisKeys>> spaces) {
        this.redis = redis;
        this.codec = codec;
        this.kombu = kombu;
        this.name = name;
        this.spaces = spaces;
    }

    @Override
    public List<DeadLetter> list(int limit) {
        try {
            List<DeadLetter> out = new ArrayList<>();
            for (RedisKeys space : spaces.get()) {
                String key = space.deadLetter(name);
                for (String raw : redis.connectionFor(key).sync().lrange(key, 0, limit - 1 - out.size())) {
                    out.add(DeadLetterRecords.read(codec, kombu, raw).letter());
                }
                if (out.size() >= limit) {
                    break;
                }
            }
            return out;
        } catch (RedisException e) {
            throw redis.unavailable("Reading dead letters", e);
        }
    }

    @Override
    public long count() {
        try {
            long n = 0;
            for (RedisKeys space : spaces.get()) {
                String key = space.deadLetter(name);
                n += redis.connectionFor(key).sync().llen(key);
            }
            return n;
        } catch (RedisException e) {
            throw redis.unavailable("Counting dead letters", e);
        }
    }

    @Override
    public boolean requeue(String id) {
        return op(id, "requeue");
    }

    @Override
    public boolean discard(String id) {
        return op(id, "discard");
    }

    private boolean op(String id, String mode) {
        try {
            for (RedisKeys space : spaces.get()) {
                String key = space.deadLetter(name);
                for (String raw : redis.connectionFor(key).sync().lrange(key, 0, -1)) {
                    DeadLetterRecords.Read r = DeadLetterRecords.read(codec, kombu, raw);
                    if (r.letter().id().equals(id)) {
                        // Records are plain text (what may not be UTF-8 is base64 inside), so the record's bytes are
                        // its text's; the message goes back byte for byte. On a cluster a queue's dead letters go
                        // back to that queue, in the same slot (and under kombu's global_keyprefix if one is set).
                        String queue = space.list(space.queue() == null ? r.letter().queue() : space.queue(), 0);
                        Long n = DEAD_LETTER_OP.run(redis.bytesConnectionFor(key).sync(), ScriptOutputType.INTEGER,
                                new byte[][] {b(key), b(queue)}, b(raw), b(mode), r.payload());
                        return n != null && n == 1;
                    }
                }
            }
            return false;
        } catch (RedisException e) {
            throw redis.unavailable("Changing dead letter " + id, e);
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
