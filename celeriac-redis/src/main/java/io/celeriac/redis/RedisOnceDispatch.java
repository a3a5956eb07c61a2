package io.celeriac.redis;

import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.lettuce.core.ScriptOutputType;

import java.time.Duration;

/**
 * Publishing once per key on Redis: {@code publish_once.lua} sets the key with {@code NX} and pushes the message in
 * one atomic step, so of any number of beats (or retried sends) exactly one publishes.
 */
final class RedisOnceDispatch implements OnceDispatch {
    private static final LuaScript PUBLISH_ONCE = new LuaScript("publish_once");

    private final RedisConnector redis;
    private final KombuEnvelope kombu;

    private final ReplicaAcks replicaAcks;

    RedisOnceDispatch(RedisConnector redis, KombuEnvelope kombu, ReplicaAcks replicaAcks) {
        this.redis = redis;
        this.kombu = kombu;
        this.replicaAcks = replicaAcks;
    }

    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        try {
            var connection = replicaAcks.connection();
            Long n = PUBLISH_ONCE.run(connection.sync(), ScriptOutputType.INTEGER,
                    new String[] {onceKey, RedisBroker.listKey(message.queue(), RedisBroker.step(message.priority()))},
                    Long.toString(keep.toMillis()), RedisBroker.envelope(kombu, message));
            var replicated = replicaAcks.request(connection.async());
            if (replicated != null) {
                replicaAcks.acknowledged(replicated.get(10, java.util.concurrent.TimeUnit.SECONDS),
                        "Publishing " + message.taskId() + " once");
            }
            return n != null && n == 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new io.celeriac.broker.BrokerUnavailableException("interrupted while publishing "
                    + message.taskId() + " once", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
                 | RuntimeException e) {
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
}
