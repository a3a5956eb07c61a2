package io.celeriac.redis;

import io.celeriac.broker.BrokerUnavailableException;
import io.lettuce.core.KeyValue;
import io.lettuce.core.ZAddArgs;
import io.lettuce.core.api.sync.RedisCommands;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records kept in Redis in the order they were first seen, for a component outside this module that keeps its
 * records next to the broker (the dashboard's task history): a hash of record text by id and a sorted set of ids by
 * first-seen time, so the newest N reload after a restart and trimming drops the oldest. It takes a Redis URL as
 * every Celeriac component does (plain, Sentinel, Cluster: the two keys then share a hash tag, hence a slot), connects
 * on first use, and refuses commands while Redis is away ({@link BrokerUnavailableException}) rather than buffer them.
 */
public final class RedisRecordLog implements AutoCloseable {
    /** One record: its id, its text, and when it was first seen (the order; later writes keep the first). */
    public record Entry(String id, String text, double firstSeen) {
    }

    private static final int CHUNK = 1000;

    private final RedisConnector redis;
    private final String records;
    private final String order;

    /**
     * @param transportOptions Celery's {@code broker_transport_options} (Sentinel's {@code master_name})
     * @param records          the hash's key
     * @param order            the sorted set's key
     * @param what             how errors name this store, e.g. "dashboard's history store"
     */
    public RedisRecordLog(String url, Map<String, Object> transportOptions, String records, String order,
                          String what) {
        RedisUrl u = RedisUrl.parse(url).withTransportOptions(transportOptions);
        this.redis = new RedisConnector(u, what);
        // On a cluster both keys must sit in one slot: the hash tag of the hash's name.
        String tag = u.isCluster() ? "{" + records + "}" : "";
        this.records = tag + records;
        this.order = tag + order;
    }

    private RedisCommands<String, String> sync() {
        return redis.connectionFor(records).sync();
    }

    /** The newest {@code max} records' text, newest first. */
    public List<String> newest(int max) {
        try {
            RedisCommands<String, String> r = sync();
            List<String> ids = r.zrevrange(order, 0, max - 1);
            List<String> out = new ArrayList<>(ids.size());
            for (int i = 0; i < ids.size(); i += CHUNK) {
                for (KeyValue<String, String> kv : r.hmget(records,
                        ids.subList(i, Math.min(ids.size(), i + CHUNK)).toArray(String[]::new))) {
                    if (kv.hasValue()) {
                        out.add(kv.getValue());
                    }
                }
            }
            return out;
        } catch (RuntimeException e) {
            throw failed("Reading records", e);
        }
    }

    /** Adds or replaces records; a record's place in the order stays where it was first seen. */
    public void put(Collection<Entry> entries) {
        try {
            RedisCommands<String, String> r = sync();
            List<Entry> all = List.copyOf(entries);
            for (int i = 0; i < all.size(); i += CHUNK) {
                Map<String, String> values = new LinkedHashMap<>();
                List<Object> scores = new ArrayList<>();
                for (Entry e : all.subList(i, Math.min(all.size(), i + CHUNK))) {
                    values.put(e.id(), e.text());
                    scores.add(e.firstSeen());
                    scores.add(e.id());
                }
                r.hset(records, values);
                // NX: a record's place in the order is when it was first seen, not when it last changed.
                r.zadd(order, ZAddArgs.Builder.nx(), scores.toArray());
            }
        } catch (RuntimeException e) {
            throw failed("Writing " + entries.size() + " record(s)", e);
        }
    }

    /** Drops all but the newest {@code max} records. */
    public void trim(int max) {
        try {
            RedisCommands<String, String> r = sync();
            long size = r.zcard(order);
            if (size <= max) {
                return;
            }
            List<String> old = r.zrange(order, 0, size - max - 1);
            for (int i = 0; i < old.size(); i += CHUNK) {
                String[] chunk = old.subList(i, Math.min(old.size(), i + CHUNK)).toArray(String[]::new);
                r.hdel(records, chunk);
                r.zrem(order, chunk);
            }
        } catch (RuntimeException e) {
            throw failed("Trimming records", e);
        }
    }

    /** Drops records by id. */
    public void remove(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        try {
            String[] all = ids.toArray(String[]::new);
            RedisCommands<String, String> r = sync();
            r.hdel(records, all);
            r.zrem(order, all);
        } catch (RuntimeException e) {
            throw failed("Removing records", e);
        }
    }

    private RuntimeException failed(String operation, RuntimeException e) {
        return e instanceof BrokerUnavailableException ? e : redis.unavailable(operation, e);
    }

    @Override
    public void close() {
        redis.close();
    }
}
