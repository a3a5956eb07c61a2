package io.celeriac.redis;

import io.celeriac.broker.BrokerUnavailableException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Writes that count only once a replica holds them ({@code WAIT}), so that a failover to that replica cannot undo
 * them. Redis replicates asynchronously: a master killed just after answering an {@code LPUSH} takes the message with
 * it, and Sentinel promotes a replica that never saw it. The same goes for a master demoted by a failover while a
 * client still writes to it: what it takes in that window is dropped when it resyncs from the new master.
 *
 * <p>So a send returns only once {@code wait_for_replicas} replicas hold it; and a worker's reserve, ack and result
 * writes count as done only then, since one undone after the worker moved on would leave a message recorded as held
 * by a consumer that no longer knows it (stranded until the visibility timeout). A shortfall is a failure like an
 * unanswered command: the send is reported as not confirmed (it may be queued; sending again may queue it twice),
 * the worker's call is retried on the next round with its acks and results, and what it reserved is put back.
 *
 * <p>{@code WAIT} counts the writes of its own connection, so it follows them on the same connection. Publishes get a
 * dedicated one: a {@code WAIT} that blocks (a replica down) then holds up only publishers.
 */
final class ReplicaAcks {
    private final RedisConnector redis;
    private final int replicas;
    private final Duration timeout;
    private volatile @Nullable StatefulRedisConnection<String, String> own;

    ReplicaAcks(RedisConnector redis, int replicas, Duration timeout) {
        this.redis = redis;
        this.replicas = replicas;
        this.timeout = timeout;
    }

    /**
     * From Celery's {@code broker_transport_options}: {@code wait_for_replicas} (default 1 with Sentinel or Cluster, where a
     * replica is there to take over; 0 otherwise) and {@code wait_for_replicas_timeout} in seconds (default 1).
     */
    static ReplicaAcks from(RedisConnector redis, RedisUrl url, Map<String, Object> options) {
        int replicas = number(options.get("wait_for_replicas"), url.isSentinel() || url.isCluster() ? 1 : 0).intValue();
        double seconds = number(options.get("wait_for_replicas_timeout"), 1).doubleValue();
        return new ReplicaAcks(redis, replicas, Duration.ofMillis(Math.max(1, Math.round(seconds * 1000))));
    }

    private static Number number(@Nullable Object v, Number otherwise) {
        if (v == null) {
            return otherwise;
        }
        return v instanceof Number n ? n : Double.valueOf(v.toString().trim());
    }

    boolean enabled() {
        return replicas > 0;
    }

    /** The connection to publish on: the shared one, or with waiting on, the publishers' own. */
    StatefulRedisConnection<String, String> connection() {
        if (!enabled()) {
            return redis.connection();
        }
        StatefulRedisConnection<String, String> c = own;
        if (c == null) {
            synchronized (this) {
                if (own == null) {
                    own = redis.open();
                }
                c = own;
            }
        }
        return c;
    }

    /** Appends a {@code WAIT} behind the writes just sent on {@link #connection()}; null when not waiting. */
    @Nullable RedisFuture<Long> request(RedisAsyncCommands<String, String> async) {
        return enabled() ? async.waitForReplication(replicas, timeout.toMillis()) : null;
    }

    /** Waits until the writes sent so far on {@code sync}'s connection are on the replicas; throws if they are not. */
    void confirm(RedisCommands<?, ?> sync, String what) {
        if (enabled()) {
            acknowledged(sync.waitForReplication(replicas, timeout.toMillis()), what);
        }
    }

    /** Takes a {@code WAIT}'s answer: fewer replicas than asked is a failure. */
    void acknowledged(Long count, String what) {
        if (count == null || count < replicas) {
            throw new BrokerUnavailableException(what + " reached " + count + " of " + replicas + " replica(s) within "
                    + timeout.toMillis() + " ms, so a failover could undo it: not confirmed (is a replica down, or "
                    + "is this master being replaced?). Set wait_for_replicas=0 in broker_transport_options to "
                    + "accept that risk.");
        }
    }

    void close() {
        StatefulRedisConnection<String, String> c = own;
        if (c != null) {
            c.close();
        }
    }
}
