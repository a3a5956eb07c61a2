package io.celeriac.redis;

import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.util.UUID;

/**
 * Publishing once per key on Redis: {@code publish_once.lua} sets the key with {@code NX} and pushes the message in
 * one atomic step, so of any number of beats (or retried sends) exactly one publishes.
 */
final class RedisOnceDispatch implements OnceDispatch {
    private static final LuaScript PUBLISH_ONCE = new LuaScript("publish_once");

    private final RedisConnector redis;
    private final KombuEnvelope kombu;

    RedisOnceDispatch(RedisConnector redis, KombuEnvelope kombu) {
        this.redis = redis;
        this.kombu = kombu;
    }

    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        try {
            Long n = PUBLISH_ONCE.run(redis.connection().sync(), ScriptOutputType.INTEGER,
                    new String[] {onceKey, RedisBroker.listKey(message.queue(), RedisBroker.step(message.priority()))},
                    Long.toString(keep.toMillis()), envelope(kombu, message));
            return n != null && n == 1;
        } catch (RuntimeException e) {
            throw redis.unavailable("Publishing " + message.taskId() + " once", e);
        }
    }

    @Override
    public void forget(String onceKey) {
        try {
            redis.connection().sync().del(onceKey);
        } catch (RuntimeException e) {
            throw redis.unavailable("Releasing " + onceKey, e);
        }
    }

    /**
     * The envelope of a message to publish, with the properties kombu's Redis transport assigns when the producer
     * left them out: {@code delivery_info} (default exchange, the queue as routing key) and a {@code delivery_tag}.
     */
    static String envelope(KombuEnvelope kombu, OutboundMessage out) {
        var m = out.message();
        if (m.property("delivery_tag") == null) {
            m = m.withProperty("delivery_tag", UUID.randomUUID().toString());
        }
        if (!(m.properties().get("delivery_info") instanceof java.util.Map<?, ?>)) {
            java.util.Map<String, Object> info = new java.util.LinkedHashMap<>();
            info.put("exchange", "");
            info.put("routing_key", out.queue());
            m = m.withProperty("delivery_info", info);
        }
        return kombu.encode(m);
    }
}
