package io.celeriac.redis;

import io.celeriac.broker.BrokerUnavailableException;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

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
 *
 * <p>With Redis Cluster ({@code redis+cluster://}), {@link #connectionFor} gives the connection to the master serving
 * a key's slot (Lettuce keeps one per node and routes by its view of the cluster, refreshed every 2 s and whenever a
 * node moves slots or stops answering). Writes that must be confirmed by a replica ({@code WAIT}) go straight to that
 * node's connection, so the {@code WAIT} follows them on the same connection, as it must. A write sent to a node that
 * no longer serves the slot fails ({@code MOVED}) like an unanswered one: the view is refreshed and the caller's
 * retry reaches the new master.
 */
final class RedisConnector implements AutoCloseable {
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final RedisUrl url;
    private final String what;
    private final ClientResources resources;
    private final @Nullable RedisClient client;
    private final @Nullable RedisClusterClient clusterClient;
    private volatile @Nullable StatefulRedisClusterConnection<String, String> clusterConnection;
    private volatile @Nullable StatefulRedisClusterConnection<byte[], byte[]> clusterBytes;
    private volatile long refreshedAt;
    private volatile @Nullable StatefulRedisConnection<String, String> connection;
    private volatile @Nullable StatefulRedisConnection<byte[], byte[]> bytesConnection;
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
        if (url.isCluster()) {
            this.client = null;
            this.clusterClient = RedisClusterClient.create(resources, url.clusterUris());
            this.clusterClient.setOptions(ClusterClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                    .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                    .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                            .enablePeriodicRefresh(Duration.ofSeconds(2))
                            .enableAllAdaptiveRefreshTriggers()
                            .adaptiveRefreshTriggersTimeout(Duration.ofMillis(500))
                            .build())
                    .build());
        } else {
            this.clusterClient = null;
            this.client = RedisClient.create(resources, url.toRedisUri());
            this.client.setOptions(ClientOptions.builder()
                    .autoReconnect(true)
                    .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                    .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).keepAlive(true).build())
                    .timeoutOptions(TimeoutOptions.enabled(COMMAND_TIMEOUT))
                    .build());
        }
    }

    /** Whether this connects to a Redis Cluster. */
    boolean isCluster() {
        return clusterClient != null;
    }

    /**
     * The connection for commands on {@code key}: the shared one on a plain server; on a cluster, the connection to
     * the master serving the key's slot now, so that a {@code WAIT} sent on it after a write counts that write.
     */
    StatefulRedisConnection<String, String> connectionFor(String key) {
        if (clusterClient == null) {
            return connection();
        }
        return nodeConnection(cluster(), SlotHash.getSlot(key));
    }

    /** {@link #connectionFor} with raw bytes (see {@link #bytesConnection}). */
    StatefulRedisConnection<byte[], byte[]> bytesConnectionFor(String key) {
        if (clusterClient == null) {
            return bytesConnection();
        }
        return nodeConnection(clusterBytes(), SlotHash.getSlot(key));
    }

    /** The master serving a key's slot now, as {@code host:port} (the server itself on a plain one). */
    String nodeOf(String key) {
        if (clusterClient == null) {
            return url.host() + ":" + url.port();
        }
        RedisClusterNode node = cluster().getPartitions().getMasterBySlot(SlotHash.getSlot(key));
        return node == null ? "?" : node.getUri().getHost() + ":" + node.getUri().getPort();
    }

    private <K, V> StatefulRedisConnection<K, V> nodeConnection(StatefulRedisClusterConnection<K, V> c, int slot) {
        RedisClusterNode node = c.getPartitions().getMasterBySlot(slot);
        if (node == null) {
            refresh();
            throw new BrokerUnavailableException("No master of the " + what + " at " + url + " serves slot " + slot
                    + " now (a failover under way?)");
        }
        try {
            return c.getConnection(node.getUri().getHost(), node.getUri().getPort());
        } catch (RuntimeException e) {
            refresh();
            throw new BrokerUnavailableException("Cannot connect to the " + what + " node "
                    + node.getUri().getHost() + ":" + node.getUri().getPort() + " (slot " + slot + "): "
                    + rootMessage(e), e);
        }
    }

    private StatefulRedisClusterConnection<String, String> cluster() {
        StatefulRedisClusterConnection<String, String> c = clusterConnection;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (clusterConnection == null) {
                clusterConnection = connectCluster(io.lettuce.core.codec.StringCodec.UTF8);
            }
            return clusterConnection;
        }
    }

    private StatefulRedisClusterConnection<byte[], byte[]> clusterBytes() {
        StatefulRedisClusterConnection<byte[], byte[]> c = clusterBytes;
        if (c != null) {
            return c;
        }
        synchronized (this) {
            if (clusterBytes == null) {
                clusterBytes = connectCluster(ByteArrayCodec.INSTANCE);
            }
            return clusterBytes;
        }
    }

    private <K, V> StatefulRedisClusterConnection<K, V> connectCluster(io.lettuce.core.codec.RedisCodec<K, V> codec) {
        if (closed) {
            throw new BrokerUnavailableException(what + " at " + url + " is closed");
        }
        try {
            return clusterClient.connect(codec);
        } catch (RuntimeException e) {
            throw new BrokerUnavailableException("Cannot connect to the " + what + " at " + url + ": "
                    + rootMessage(e) + ". Are the cluster's nodes running and is the URL right?", e);
        }
    }

    /** Asks the cluster for its current slots now (at most every 200 ms): after a failure that may be a failover. */
    private void refresh() {
        long now = System.nanoTime();
        if (clusterClient == null || now - refreshedAt < TimeUnit.MILLISECONDS.toNanos(200)) {
            return;
        }
        refreshedAt = now;
        clusterClient.refreshPartitionsAsync();
    }

    /**
     * A connection of its own for blocking commands (they must not hold up a shared one); on a cluster, a cluster
     * connection of its own that routes each command to its key's master. Use {@link #async} on it.
     */
    StatefulConnection<String, String> openDedicated() {
        if (clusterClient == null) {
            return open();
        }
        return connectCluster(io.lettuce.core.codec.StringCodec.UTF8);
    }

    /** The asynchronous commands of a connection from {@link #openDedicated}. */
    @SuppressWarnings("unchecked")
    static RedisClusterAsyncCommands<String, String> async(StatefulConnection<String, String> c) {
        if (c instanceof StatefulRedisClusterConnection<?, ?> cc) {
            return ((StatefulRedisClusterConnection<String, String>) cc).async();
        }
        return ((StatefulRedisConnection<String, String>) c).async();
    }

    RedisUrl url() {
        return url;
    }

    /** The shared connection, opened now if it is not yet. */
    StatefulRedisConnection<String, String> connection() {
        if (clusterClient != null) {
            throw new IllegalStateException("on Redis Cluster a connection is per node: use connectionFor(key)");
        }
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
        if (clusterClient != null) {
            throw new IllegalStateException("on Redis Cluster a connection is per node: use bytesConnectionFor(key)");
        }
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
        if (clusterClient != null) {
            throw new IllegalStateException("on Redis Cluster use openDedicated()");
        }
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
            // On a cluster: Lettuce's cluster pub/sub; PUBLISH reaches every node's subscribers, so one node will do.
            return clusterClient != null ? clusterClient.connectPubSub() : client.connectPubSub();
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
        if (clusterClient != null) {
            refresh();
        } else if (isReadOnly(cause)) {
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
        return connection != null || clusterConnection != null;
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
        if (clusterClient != null) {
            for (StatefulConnection<?, ?> cc : new StatefulConnection<?, ?>[] {clusterConnection, clusterBytes}) {
                if (cc != null) {
                    cc.close();
                }
            }
            clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            resources.shutdown(0, 2, TimeUnit.SECONDS);
            return;
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
