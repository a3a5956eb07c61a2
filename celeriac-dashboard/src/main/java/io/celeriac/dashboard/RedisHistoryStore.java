package io.celeriac.dashboard;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.redis.RedisUrl;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The task history in Redis: a hash of records by id and a sorted set of ids by first-seen time, so a restart
 * reloads the newest N and trimming drops the oldest.
 */
public final class RedisHistoryStore implements HistoryStore {
    static final String RECORDS = "celeriac.dashboard.tasks";
    static final String ORDER = "celeriac.dashboard.order";
    private static final int CHUNK = 1000;

    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;

    public RedisHistoryStore(String url) {
        this.client = RedisClient.create(RedisUrl.parse(url).toRedisUri());
        this.connection = client.connect();
    }

    @Override
    public List<TaskRecord> load(int max) {
        RedisCommands<String, String> r = connection.sync();
        List<String> ids = r.zrevrange(ORDER, 0, max - 1);
        List<TaskRecord> out = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i += CHUNK) {
            List<String> chunk = ids.subList(i, Math.min(ids.size(), i + CHUNK));
            for (KeyValue<String, String> kv : r.hmget(RECORDS, chunk.toArray(String[]::new))) {
                if (kv.hasValue()) {
                    out.add(decode(kv.getValue()));
                }
            }
        }
        return out;
    }

    @Override
    public void save(Collection<TaskRecord> records) {
        RedisCommands<String, String> r = connection.sync();
        List<TaskRecord> all = List.copyOf(records);
        for (int i = 0; i < all.size(); i += CHUNK) {
            Map<String, String> values = new LinkedHashMap<>();
            List<Object> scores = new ArrayList<>();
            for (TaskRecord t : all.subList(i, Math.min(all.size(), i + CHUNK))) {
                values.put(t.id(), encode(t));
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
        RedisCommands<String, String> r = connection.sync();
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
        connection.sync().hdel(RECORDS, all);
        connection.sync().zrem(ORDER, all);
    }

    private String encode(TaskRecord t) {
        try {
            return json.writeValueAsString(t);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private TaskRecord decode(String s) {
        try {
            return json.readValue(s, TaskRecord.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown();
    }
}
