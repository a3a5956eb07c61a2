package io.celeriac.redis;

import io.celeriac.broker.BrokerUnavailableException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One Redis client with the options every Celeriac component needs, and a main connection opened on first use.
 *
 * <p>Why lazily: a worker, beat or dashboard started while Redis is down must not die in its constructor; it retries
 * with backoff (as Celery's {@code broker_connection_retry_on_startup}) and the first operation that needs Redis
 * either gets a connection or a {@link BrokerUnavailableException}. Once connected, Lettuce reconnects by itself;
 * its backoff is capped at one second so that operations work again within a second of Redis answering (Lettuce's
 * default cap of 30 s kept producers failing long after an outage ended). Commands issued while disconnected are
 * rejected, never buffered: a send either reaches Redis or fails with a clear exception.
 *
 * <p>With Sentinel, every connect and reconnect asks the sentinels for the current master, so a failover is an outage
 * like any other: connections drop when the old master dies (or when Sentinel demotes it, which closes its clients),
 * and come back to the new one. A connection that still answers but from a replica (a demotion that left it open)
 * gets {@code READONLY} for every write; {@link #unavailable} then closes this connector's connections on the server
 * side, so that they reconnect through the sentinels instead of failing the same way until a restart.
 */
final class RedisConnector implements AutoCloseable {
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final RedisUrl url;
    private final String what;
    private final ClientResources resources;
    private final RedisClient client;
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile StatefulRedisConnection<byte[], byte[]> bytesConnection;
    private volatile boolean closed;
    /** Every connection opened, for {@link #reconnectAll}; closed ones leave on their own. */
    private final java.util.Set<StatefulRedisConnection<?, ?>> opened = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** @param what how errors name this server, e.g. "Redis broker" */
    RedisConnector(RedisUrl url, String what) {
        this.url = url;
        this.what = what;
        this.resources = ClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, url.toRedisUri());
        this.client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                .build());
    }

    RedisUrl url() {
        return url;
    }

    /** The shared connection, opened now if it is not yet. */
    StatefulRedisConnection<String, String> connection() {
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (connection == null) {
                connection = open();
            }
            return connection;
        }
    }

    /**
     * A shared connection that reads and writes raw bytes, opened now if it is not yet: for messages, which may hold
     * bytes that are not UTF-8 and must reach the caller unchanged (a String codec would replace them silently).
     */
    StatefulRedisConnection<byte[], byte[]> bytesConnection() {
        StatefulRedisConnection<byte[], byte[]> c = bytesConnection;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (bytesConnection == null) {
                if (closed) {
                    throw new BrokerUnavailableException(what + " at " + url + " is closed");
                }
                try {
                    bytesConnection = track(client.connect(ByteArrayCodec.INSTANCE));
                } catch (RuntimeException e) {
                    throw new BrokerUnavailableException("Cannot connect to the " + what + " at " + url + ": "
                            + rootMessage(e) + ". Is redis-server running and is the URL right?", e);
                }
            }
            return bytesConnection;
        }
    }

    /** A further connection of its own (blocking waits must not hold up the shared one). */
    StatefulRedisConnection<String, String> open() {
        if (closed) {
            throw new BrokerUnavailableException(what + " at " + url + " is closed");
        }
        try {
            return track(client.connect());
        } catch (RuntimeException e) {
            throw new BrokerUnavailableException("Cannot connect to the " + what + " at " + url + ": "
                    + rootMessage(e) + ". Is redis-server running and is the URL right?", e);
        }
    }

    StatefulRedisPubSubConnection<String, String> openPubSub() {
        if (closed) {
            throw new BrokerUnavailableException(what + " at " + url + " is closed");
        }
        try {
            return client.connectPubSub();
        } catch (RuntimeException e) {
            throw new BrokerUnavailableException("Cannot connect to the " + what + " at " + url + ": "
                    + rootMessage(e), e);
        }
    }

    private <C extends StatefulRedisConnection<?, ?>> C track(C c) {
        opened.add(c);
        c.addListener(new io.lettuce.core.RedisConnectionStateListener() {
            @Override
            public void onRedisDisconnected(io.lettuce.core.RedisChannelHandler<?, ?> connection) {
                if (!connection.isOpen()) {
                    opened.remove(c);
                }
            }
        });
        return c;
    }

    /** The exception a broker operation throws when Redis did not answer: says what failed and why. */
    BrokerUnavailableException unavailable(String operation, Exception e) {
        Throwable cause = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null
                ? e.getCause() : e;
        if (isReadOnly(cause)) {
            reconnectAll();
        }
        return new BrokerUnavailableException(operation + " failed: Redis at " + url + " did not answer ("
                + cause.getMessage() + ")", cause);
    }

    static boolean isReadOnly(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof io.lettuce.core.RedisReadOnlyException
                    || (t.getMessage() != null && t.getMessage().startsWith("READONLY"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Has the server close each of this connector's connections ({@code CLIENT KILL ID <own id> SKIPME no}): Lettuce
     * then reconnects, and with Sentinel that means to whichever server the sentinels now call master. Best effort:
     * a connection that fails here is down already and reconnects anyway.
     */
    void reconnectAll() {
        for (StatefulRedisConnection<?, ?> c : opened) {
            if (!c.isOpen()) {
                continue;
            }
            try {
                var sync = c.sync();
                Long id = sync.clientId();
                sync.clientKill(io.lettuce.core.KillArgs.Builder.id(id).skipme(false));
            } catch (RuntimeException ignored) {
                // The kill closes the connection before or as it answers; either way it reconnects.
            }
        }
    }

    /** True once the shared connection was opened (for close paths that must not connect). */
    boolean connected() {
        return connection != null;
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    @Override
    public void close() {
        closed = true;
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        StatefulRedisConnection<byte[], byte[]> b = bytesConnection;
        if (b != null) {
            b.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
