package io.celeriac.redis;

import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The broker's one pub/sub connection, shared by remote control (a channel) and events (a pattern), opened on first
 * use. Lettuce re-subscribes after a reconnect by itself.
 */
final class RedisPubSub implements AutoCloseable {
    private final RedisConnector redis;
    private final Map<String, List<Consumer<String>>> channels = new ConcurrentHashMap<>();
    private final Map<String, List<Consumer<String>>> patterns = new ConcurrentHashMap<>();
    private volatile StatefulRedisPubSubConnection<String, String> connection;

    RedisPubSub(RedisConnector redis) {
        this.redis = redis;
    }

    private synchronized StatefulRedisPubSubConnection<String, String> connection() {
        if (connection == null) {
            StatefulRedisPubSubConnection<String, String> c = redis.openPubSub();
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    channels.getOrDefault(channel, List.of()).forEach(l -> l.accept(message));
                }

                @Override
                public void message(String pattern, String channel, String message) {
                    patterns.getOrDefault(pattern, List.of()).forEach(l -> l.accept(message));
                }
            });
            connection = c;
        }
        return connection;
    }

    /**
     * Delivers a channel's messages to {@code listener} until the handle is closed. The listener is added only once
     * the subscription holds: a subscribe that fails (Redis down) and is retried must not leave a copy behind.
     */
    AutoCloseable subscribe(String channel, Consumer<String> listener) {
        connection().sync().subscribe(channel);
        List<Consumer<String>> l = channels.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>());
        l.add(listener);
        return () -> l.remove(listener);
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
        StatefulRedisPubSubConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
    }
}
