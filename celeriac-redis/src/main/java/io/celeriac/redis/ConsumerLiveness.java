package io.celeriac.redis;

import io.lettuce.core.ScriptOutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.BooleanSupplier;

/**
 * Who is alive, on Redis's clock: this consumer's heartbeat ({@code heartbeat.lua} every second, which also
 * registers it again if it was reaped or lost in a Redis restart) and the reaper that returns dead consumers'
 * messages ({@link UnackedRestorer}, every 5 s), each on its own thread so that a long recovery never delays a beat.
 */
final class ConsumerLiveness {
    private static final Logger log = LoggerFactory.getLogger(ConsumerLiveness.class);
    /** A consumer whose heartbeat key is older than this is presumed dead (on Redis's clock). */
    static final Duration HEARTBEAT_TTL = Duration.ofSeconds(10);
    static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(1);
    /**
     * No heartbeat from anyone for this long means Redis was away (down, paused, restarted) and reaping is held.
     * Why three beats: the TTL must outlast this gap plus a beat before it, a beat after and a reconnect (10 s >
     * 3 + 1 + 1 + 1 s, with room for a loaded machine), or a consumer's key could expire in an outage too short to
     * notice.
     */
    static final Duration HEARTBEAT_GAP = HEARTBEAT_EVERY.multipliedBy(3);
    /** After a gap, nobody is reaped for the TTL plus this: time for every live consumer to beat again. */
    static final Duration REAP_GRACE = Duration.ofSeconds(5);
    static final Duration RECOVER_EVERY = Duration.ofSeconds(5);
    private static final LuaScript HEARTBEAT = new LuaScript("heartbeat", "liveness");

    private final RedisConnector redis;
    private final String consumerId;
    private final UnackedRestorer restorer;
    private final Supplier<Collection<RedisKeys>> beatIn;
    private final Supplier<Collection<RedisKeys>> recoverIn;
    private final Set<RedisKeys> registered = ConcurrentHashMap.newKeySet();
    private volatile long heldUntilLogged;

    /**
     * @param beatIn    the key spaces this consumer holds messages in, where it beats (kombu's layout: the one; on a
     *                  cluster: the slot of each queue it consumes)
     * @param recoverIn the key spaces whose dead consumers it recovers (on a cluster: every queue consumed so far)
     */
    ConsumerLiveness(RedisConnector redis, String consumerId, UnackedRestorer restorer,
                     Supplier<Collection<RedisKeys>> beatIn, Supplier<Collection<RedisKeys>> recoverIn) {
        this.redis = redis;
        this.consumerId = consumerId;
        this.restorer = restorer;
        this.beatIn = beatIn;
        this.recoverIn = recoverIn;
    }

    /**
     * One heartbeat in every key space: registers this consumer again if it is not (reaped while cut off, or lost
     * in a Redis restart) and refreshes its key, on Redis's clock. The first failure ends the beat (and is thrown):
     * the next one tries them all again.
     */
    void beat() {
        for (RedisKeys keys : beatIn.get()) {
            beat(keys);
        }
    }

    /** One heartbeat in one key space. */
    void beat(RedisKeys keys) {
        List<Long> r = HEARTBEAT.run(redis.connectionFor(keys.consumers()).sync(), ScriptOutputType.MULTI,
                new String[] {keys.consumers(), keys.heartbeat(consumerId), keys.heartbeatLast(), keys.reapAfter()},
                consumerId, Long.toString(HEARTBEAT_TTL.toMillis()), Long.toString(HEARTBEAT_GAP.toMillis()),
                Long.toString(HEARTBEAT_TTL.plus(REAP_GRACE).toMillis()));
        if (r.get(0) == 1 && registered.contains(keys)) {
            log.warn("Consumer {} was presumed dead (no heartbeat reached Redis for {} s) and its unacked messages "
                    + "were put back on their queues; registered again. Tasks it is still running may also run "
                    + "elsewhere; its acks of them are ignored.", consumerId, HEARTBEAT_TTL.toSeconds());
        }
        registered.add(keys);
    }

    /** The {@code celeriac-heartbeat} thread's loop. */
    void heartbeatLoop(BooleanSupplier running) {
        while (running.getAsBoolean()) {
            try {
                beat();
            } catch (RuntimeException e) {
                if (running.getAsBoolean()) {
                    log.debug("heartbeat: {}", e.toString());
                }
            }
            try {
                Thread.sleep(HEARTBEAT_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The {@code celeriac-recover} thread's loop. */
    void recoverLoop(BooleanSupplier running) {
        while (running.getAsBoolean()) {
            try {
                Thread.sleep(RECOVER_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            try {
                recoverNow();
            } catch (RuntimeException e) {
                if (running.getAsBoolean()) {
                    log.debug("recovery: {}", e.toString());
                }
            }
        }
    }

    /** One recovery pass: returns {dead consumers, restored messages}. See {@link RedisBroker#recoverNow()}. */
    long[] recoverNow() {
        long reaped = 0;
        long restored = 0;
        long heldUntil = 0;
        RuntimeException failed = null;
        for (RedisKeys keys : recoverIn.get()) {
            try {
                UnackedRestorer.Result one = restorer.recover(keys);
                reaped += one.reaped();
                restored += one.restored();
                heldUntil = Math.max(heldUntil, one.heldUntil());
            } catch (RuntimeException e) {
                // One slot's master away (a cluster failover) must not stop recovery in the others.
                failed = redis.unavailable("Recovering unacked messages in " + keys, e);
            }
        }
        UnackedRestorer.Result r = new UnackedRestorer.Result(reaped, restored, heldUntil);
        if (r.reaped() > 0 || r.restored() > 0) {
            log.warn("Recovered {} message(s) from {} consumer(s) that stopped without acking", r.restored(),
                    r.reaped());
        }
        if (r.heldUntil() > 0 && r.heldUntil() != heldUntilLogged) {
            heldUntilLogged = r.heldUntil();
            log.info("No heartbeat reached Redis for over {} s (Redis down, paused or restarted?): no consumer is "
                    + "presumed dead before {} (Redis's clock), time for live ones to beat again",
                    HEARTBEAT_GAP.toSeconds(), Instant.ofEpochMilli(r.heldUntil()));
        }
        if (failed != null) {
            throw failed;
        }
        return new long[] {r.reaped(), r.restored()};
    }
}
