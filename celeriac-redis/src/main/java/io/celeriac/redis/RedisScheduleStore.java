package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.EntryCodec;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Beat entries in Redis: hash {@code celeriac.beat.entries} (name → entry JSON), hash {@code celeriac.beat.state}
 * (name → last due, last run, run count), the lease {@code celeriac.beat.lease} (holder, with a TTL) and its
 * fencing token {@code celeriac.beat.lease.token}. Edits by any process are seen by beat at its next tick.
 */
public final class RedisScheduleStore implements ScheduleStore, AutoCloseable {
    static final String ENTRIES = "celeriac.beat.entries";
    static final String STATE = "celeriac.beat.state";
    static final String LEASE = "celeriac.beat.lease";
    static final String TOKEN = "celeriac.beat.lease.token";
    private static final LuaScript LEASE_SCRIPT = new LuaScript("beat_lease");

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final EntryCodec codec;

    public RedisScheduleStore(String url, CeleriacConfig config) {
        RedisUrl u = RedisUrl.parse(url);
        this.client = RedisClient.create(u.toRedisUri());
        this.connection = client.connect();
        this.codec = new EntryCodec(new MessageCodec(), config.timezone());
    }

    @Override
    public List<ScheduleEntry> entries() {
        Map<String, String> all = new TreeMap<>(connection.sync().hgetall(ENTRIES));
        List<ScheduleEntry> out = new ArrayList<>(all.size());
        all.values().forEach(v -> out.add(codec.decode(v)));
        return out;
    }

    @Override
    public Optional<ScheduleEntry> entry(String name) {
        String v = connection.sync().hget(ENTRIES, name);
        return v == null ? Optional.empty() : Optional.of(codec.decode(v));
    }

    @Override
    public void save(ScheduleEntry entry) {
        connection.sync().hset(ENTRIES, entry.name(), codec.encode(entry));
    }

    @Override
    public boolean remove(String name) {
        connection.sync().hdel(STATE, name);
        return connection.sync().hdel(ENTRIES, name) == 1;
    }

    @Override
    public EntryState state(String name) {
        return codec.decodeState(connection.sync().hget(STATE, name));
    }

    @Override
    public void recordRun(String name, Instant due, Instant at, boolean sent) {
        EntryState s = state(name);
        EntryState next = new EntryState(due, sent ? at : s.lastRunAt(), s.totalRunCount() + (sent ? 1 : 0));
        connection.sync().hset(STATE, name, codec.encodeState(next));
    }

    @Override
    public Optional<Long> lease(String holder, Duration ttl) {
        Long token = LEASE_SCRIPT.run(connection.sync(), ScriptOutputType.INTEGER, new String[] {LEASE, TOKEN},
                holder, Long.toString(ttl.toMillis()), "acquire");
        return Optional.ofNullable(token);
    }

    @Override
    public void release(String holder) {
        LEASE_SCRIPT.run(connection.sync(), ScriptOutputType.INTEGER, new String[] {LEASE, TOKEN}, holder, "0",
                "release");
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
