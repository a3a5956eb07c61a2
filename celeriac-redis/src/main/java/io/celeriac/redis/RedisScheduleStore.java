package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.EntryCodec;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.ScriptOutputType;

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
 * fencing token {@code celeriac.beat.lease.token}. Edits by any process are seen by beat at its next tick. It keeps a
 * {@link DispatchLedger} ({@code celeriac.dispatch.*} and the once keys), so beat sends each due time once on a broker
 * that cannot do so by itself (RabbitMQ).
 */
public final class RedisScheduleStore implements ScheduleStore, AutoCloseable {
    static final String ENTRIES = "celeriac.beat.entries";
    static final String STATE = "celeriac.beat.state";
    static final String LEASE = "celeriac.beat.lease";
    static final String TOKEN = "celeriac.beat.lease.token";
    private static final LuaScript LEASE_SCRIPT = new LuaScript("beat_lease");

    private final RedisConnector redis;
    private final EntryCodec codec;
    private final RedisDispatchLedger ledger;

    public RedisScheduleStore(String url, CeleriacConfig config) {
        RedisUrl u = RedisUrl.parse(url).withTransportOptions(config.brokerTransportOptions());
        this.redis = new RedisConnector(u, "Redis schedule store");
        this.codec = new EntryCodec(new MessageCodec(), config.timezone());
        this.ledger = new RedisDispatchLedger(redis);
    }

    @Override
    public List<ScheduleEntry> entries() {
        Map<String, String> all = new TreeMap<>(redis.connection().sync().hgetall(ENTRIES));
        List<ScheduleEntry> out = new ArrayList<>(all.size());
        all.values().forEach(v -> out.add(codec.decode(v)));
        return out;
    }

    @Override
    public Optional<ScheduleEntry> entry(String name) {
        String v = redis.connection().sync().hget(ENTRIES, name);
        return v == null ? Optional.empty() : Optional.of(codec.decode(v));
    }

    @Override
    public void save(ScheduleEntry entry) {
        redis.connection().sync().hset(ENTRIES, entry.name(), codec.encode(entry));
    }

    @Override
    public boolean remove(String name) {
        redis.connection().sync().hdel(STATE, name);
        return redis.connection().sync().hdel(ENTRIES, name) == 1;
    }

    @Override
    public EntryState state(String name) {
        return codec.decodeState(redis.connection().sync().hget(STATE, name));
    }

    @Override
    public void recordRun(String name, Instant due, Instant at, boolean sent) {
        EntryState s = state(name);
        EntryState next = new EntryState(due, sent ? at : s.lastRunAt(), s.totalRunCount() + (sent ? 1 : 0));
        redis.connection().sync().hset(STATE, name, codec.encodeState(next));
    }

    @Override
    public Optional<Long> lease(String holder, Duration ttl) {
        Long token = LEASE_SCRIPT.run(redis.connection().sync(), ScriptOutputType.INTEGER, new String[] {LEASE, TOKEN},
                holder, Long.toString(ttl.toMillis()), "acquire");
        return Optional.ofNullable(token);
    }

    @Override
    public void release(String holder) {
        LEASE_SCRIPT.run(redis.connection().sync(), ScriptOutputType.INTEGER, new String[] {LEASE, TOKEN}, holder, "0",
                "release");
    }

    @Override
    public Optional<DispatchLedger> dispatchLedger() {
        return Optional.of(ledger);
    }

    @Override
    public void close() {
        redis.close();
    }
}
