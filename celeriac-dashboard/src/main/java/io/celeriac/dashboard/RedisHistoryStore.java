package io.celeriac.dashboard;

import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.redis.RedisUrl;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The task history in Redis: a hash of records by id and a sorted set of ids by first-seen time, so a restart
 * reloads the newest N and trimming drops the oldest.
 *
 * <p>It connects on first use, not in the constructor, so that a dashboard starts while Redis is down; then, as the
 * broker's connection does, it rejects commands while disconnected (the history keeps unsaved records for the next
 * flush) and reconnects with a backoff capped at one second.
 */
public final class RedisHistoryStore implements HistoryStore {
    static final String RECORDS = "celeriac.dashboard.tasks";
    static final String ORDER = "celeriac.dashboard.order";
    private static final int CHUNK = 1000;

    private final RedisUrl url;
    private final ClientResources resources;
    private final RedisClient client;
    private volatile StatefulRedisConnection<String, String> connection;

    public RedisHistoryStore(String url) {
        this(url, java.util.Map.of());
    }

    /** @param transportOptions Celery's {@code broker_transport_options} (Sentinel's {@code master_name}) */
    public RedisHistoryStore(String url, java.util.Map<String, Object> transportOptions) {
        this.url = RedisUrl.parse(url).withTransportOptions(transportOptions);
        if (this.url.isCluster()) {
            // Its keys are written through one plain connection: on a cluster most would be redirected and fail.
            throw new io.celeriac.CeleriacException("The dashboard's Redis history store does not support Redis "
                    + "Cluster (" + this.url + ") yet: set the history store (--history) to a jdbc: URL, or none");
        }
        this.resources = ClientResources.builder()
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources, this.url.toRedisUri());
        this.client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).keepAlive(true).build())
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(10)))
                .build());
    }

    private RedisCommands<String, String> redis() {
        StatefulRedisConnection<String, String> c = connection;
        if (c == null) {
            synchronized (this) {
                if (connection == null) {
                    try {
                        connection = client.connect();
                    } catch (RuntimeException e) {
                        throw new BrokerUnavailableException("Cannot connect to the dashboard's history store at "
                                + url + " (" + ReconnectBackoff.reason(e) + ")", e);
                    }
                }
                c = connection;
            }
        }
        return c.sync();
    }

    @Override
    public List<TaskRecord> load(int max) {
        RedisCommands<String, String> r = redis();
        List<String> ids = r.zrevrange(ORDER, 0, max - 1);
        List<TaskRecord> out = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i += CHUNK) {
            List<String> chunk = ids.subList(i, Math.min(ids.size(), i + CHUNK));
            for (KeyValue<String, String> kv : r.hmget(RECORDS, chunk.toArray(String[]::new))) {
                if (kv.hasValue()) {
                    out.add(TaskRecord.fromJson(kv.getValue()));
                }
            }
        }
        return out;
    }

    @Override
    public void save(Collection<TaskRecord> records) {
        RedisCommands<String, String> r = redis();
        List<TaskRecord> all = List.copyOf(records);
        for (int i = 0; i < all.size(); i += CHUNK) {
            Map<String, String> values = new LinkedHashMap<>();
            List<Object> scores = new ArrayList<>();
            for (TaskRecord t : all.subList(i, Math.min(all.size(), i + CHUNK))) {
                values.put(t.id(), t.toJson());
                scores.add(t.firstSeen());
                scores.add(t.id());
            }
            r.hset(RECORDS, values);
            // NX: a record's place in the order is when it was first seen, not when it last changed.
            r.zadd(ORDER, io.lettuce.core.ZAddArgs.Builder.nx(), scores.toArray());
        }
    }

    @Override
    public void trim(int max) {
        RedisCommands<String, String> r = redis();
        long size = r.zcard(ORDER);
        if (size <= max) {
            return;
        }
        List<String> old = r.zrange(ORDER, 0, size - max - 1);
        for (int i = 0; i < old.size(); i += CHUNK) {
            String[] chunk = old.subList(i, Math.min(old.size(), i + CHUNK)).toArray(String[]::new);
            r.hdel(RECORDS, chunk);
            r.zrem(ORDER, chunk);
        }
    }

    @Override
    public void remove(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        String[] all = ids.toArray(String[]::new);
        RedisCommands<String, String> r = redis();
        r.hdel(RECORDS, all);
        r.zrem(ORDER, all);
    }


    @Override
    public void close() {
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
