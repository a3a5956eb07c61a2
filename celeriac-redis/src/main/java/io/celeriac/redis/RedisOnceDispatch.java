package io.celeriac.redis;

import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.lettuce.core.ScriptOutputType;

import java.time.Duration;

/**
 * Publishing once per key on Redis: {@code publish_once.lua} sets the key with {@code NX} and pushes the message in
 * one atomic step, so of any number of beats (or retried sends) exactly one publishes.
 *
 * <p>On a cluster the once-key must share the slot of the queue's list, so it lives in the queue's key space
 * ({@code {<queue>}.<once key>}): a key is then once per queue (the same key sent to two queues publishes to each),
 * and {@link #forget} deletes it in every queue's space known to the cluster ({@code celeriac.cluster.queues}, where
 * every once-publish registers its queue).
 */
final class RedisOnceDispatch implements OnceDispatch {
    private static final LuaScript PUBLISH_ONCE = new LuaScript("publish_once");

    private final RedisConnector redis;
    private final KombuEnvelope kombu;

    private final ReplicaAcks replicaAcks;
    private final java.util.function.Function<String, RedisKeys> space;
    private final java.util.function.Supplier<java.util.Collection<RedisKeys>> known;

    RedisOnceDispatch(RedisConnector redis, KombuEnvelope kombu, ReplicaAcks replicaAcks,
                      java.util.function.Function<String, RedisKeys> space,
                      java.util.function.Supplier<java.util.Collection<RedisKeys>> known) {
        this.redis = redis;
        this.kombu = kombu;
        this.replicaAcks = replicaAcks;
        this.space = space;
        this.known = known;
    }

    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        try {
            RedisKeys keys = space.apply(message.queue());
            String list = keys.list(message.queue(), RedisBroker.step(message.priority()));
            if (redis.isCluster()) {
                redis.connectionFor(RedisKeys.CLUSTER_QUEUES).sync().sadd(RedisKeys.CLUSTER_QUEUES, message.queue());
            }
            var connection = redis.isCluster() ? redis.connectionFor(list) : replicaAcks.connection();
            Long n = PUBLISH_ONCE.run(connection.sync(), ScriptOutputType.INTEGER,
                    new String[] {keys.once(onceKey), list},
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
            for (RedisKeys keys : known.get()) {
                redis.connectionFor(keys.once(onceKey)).sync().del(keys.once(onceKey));
            }
        } catch (RuntimeException e) {
            throw redis.unavailable("Releasing " + onceKey, e);
        }
    }
}
