package io.celeriac.redis;

import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The broker's one pub/sub connection, shared by remote control (a channel) and events (a pattern), opened on first
 * use. Lettuce re-subscribes after a reconnect by itself.
 *
 * <p>Listeners run on a thread of their own, in arrival order, never on Lettuce's event loop: a listener that sends a
 * command and waits for it (a worker answering {@code ping} publishes its reply) would otherwise block the very
 * thread that must read that answer whenever both connections share an event loop thread, and time out after 10 s.
 * The hand-off queue is bounded ({@link #BACKLOG}); beyond it messages are dropped with a warning, as pub/sub itself
 * drops what a slow subscriber cannot take, rather than let memory grow without bound.
 */
final class RedisPubSub implements AutoCloseable {
    private final RedisConnector redis;
    private final Map<String, List<Consumer<String>>> channels = new ConcurrentHashMap<>();
    private final Map<String, List<Consumer<String>>> patterns = new ConcurrentHashMap<>();
    static final int BACKLOG = 100_000;
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RedisPubSub.class);
    private volatile @Nullable StatefulRedisPubSubConnection<String, String> connection;
    private final java.util.concurrent.ThreadPoolExecutor dispatch = new java.util.concurrent.ThreadPoolExecutor(1, 1,
            0, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(BACKLOG), r -> {
                Thread t = new Thread(r, "celeriac-pubsub");
                t.setDaemon(true);
                return t;
            }, (r, pool) -> dropped());
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();

    RedisPubSub(RedisConnector redis) {
        this.redis = redis;
    }

    private synchronized StatefulRedisPubSubConnection<String, String> connection() {
        if (connection == null) {
            StatefulRedisPubSubConnection<String, String> c = redis.openPubSub();
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    deliver(channels.getOrDefault(channel, List.of()), message);
                }

                @Override
                public void message(String pattern, String channel, String message) {
                    deliver(patterns.getOrDefault(pattern, List.of()), message);
                }
            });
            connection = c;
        }
        return connection;
    }

    private void deliver(List<Consumer<String>> listeners, String message) {
        if (listeners.isEmpty() || dispatch.isShutdown()) {
            return;
        }
        dispatch.execute(() -> {
            for (Consumer<String> l : listeners) {
                try {
                    l.accept(message);
                } catch (RuntimeException e) {
                    log.warn("A pub/sub listener failed: {}", e.toString());
                }
            }
        });
    }

    private void dropped() {
        long n = dropped.incrementAndGet();
        if (n == 1 || n % 10_000 == 0) {
            log.warn("{} pub/sub message(s) dropped: listeners are {} messages behind", n, BACKLOG);
        }
    }

    /**
     * Delivers a channel's messages to {@code listener} until the handle is closed; the last handle of a channel
     * closed unsubscribes from it (a result wait subscribes to one channel per task, which must not pile up). The
     * listener is added only once the subscription holds: a subscribe that fails (Redis down) and is retried must not
     * leave a copy behind. Both run under this object's lock, so an unsubscribe and a new subscribe to the same
     * channel reach Redis in the order they were decided.
     */
    synchronized AutoCloseable subscribe(String channel, Consumer<String> listener) {
        connection().sync().subscribe(channel);
        List<Consumer<String>> l = channels.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>());
        l.add(listener);
        return () -> unsubscribe(channel, l, listener);
    }

    private synchronized void unsubscribe(String channel, List<Consumer<String>> l, Consumer<String> listener) {
        l.remove(listener);
        if (l.isEmpty() && channels.remove(channel, l)) {
            StatefulRedisPubSubConnection<String, String> c = connection;
            if (c != null) {
                try {
                    c.async().unsubscribe(channel);
                } catch (RuntimeException ignored) {
                    // Not connected: the subscription ended with the connection, and Lettuce will not renew it.
                }
            }
        }
    }

    /** Like {@link #subscribe}, for every channel matching a pattern. */
    AutoCloseable psubscribe(String pattern, Consumer<String> listener) {
        connection().sync().psubscribe(pattern);
        List<Consumer<String>> l = patterns.computeIfAbsent(pattern, k -> new CopyOnWriteArrayList<>());
        l.add(listener);
        return () -> l.remove(listener);
    }

    @Override
    public void close() {
        dispatch.shutdown();
        StatefulRedisPubSubConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
    }
}
