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
import org.jspecify.annotations.Nullable;

/**
 * Beat entries in Redis: hash {@code celeriac.beat.entries} (name → entry JSON), hash {@code celeriac.beat.state}
 * (name → last due, last run, run count), the lease {@code celeriac.beat.lease} (holder, with a TTL) and its
 * fencing token {@code celeriac.beat.lease.token}. Edits by any process are seen by beat at its next tick. It keeps a
 * {@link DispatchLedger} ({@code celeriac.dispatch.*} and the once keys), so beat sends each due time once on a broker
 * that cannot do so by itself (RabbitMQ). On a Redis Cluster the entry, state and lease names follow the hash tag
 * {@code {celeriac.beat}}, so they share a slot; there it keeps no dispatch ledger (a cluster broker publishes once by
 * itself; beat on RabbitMQ then needs a jdbc: store).
 */
public final class RedisScheduleStore implements ScheduleStore, AutoCloseable {
    static final String ENTRIES = "celeriac.beat.entries";
    static final String STATE = "celeriac.beat.state";
    static final String LEASE = "celeriac.beat.lease";
    static final String TOKEN = "celeriac.beat.lease.token";
    private static final LuaScript LEASE_SCRIPT = new LuaScript("beat_lease");

    private final RedisConnector redis;
    private final EntryCodec codec;
    /** Null on a cluster, where the ledger's keys could not share a slot with every once key (docs/redis.md). */
    private final @Nullable RedisDispatchLedger ledger;
    /** The keys: Celeriac's names; on a cluster with the hash tag {celeriac.beat}, so the lease script sees both. */
    private final String entries;
    private final String state;
    private final String lease;
    private final String token;

    public RedisScheduleStore(String url, CeleriacConfig config) {
        RedisUrl u = RedisUrl.parse(url).withTransportOptions(config.brokerTransportOptions());
        this.redis = new RedisConnector(u, "Redis schedule store");
        this.codec = new EntryCodec(new MessageCodec(), config.timezone());
        this.ledger = u.isCluster() ? null : new RedisDispatchLedger(redis);
        String tag = u.isCluster() ? "{celeriac.beat}" : "";
        this.entries = tag + ENTRIES;
        this.state = tag + STATE;
        this.lease = tag + LEASE;
        this.token = tag + TOKEN;
    }

    private io.lettuce.core.api.sync.RedisCommands<String, String> sync() {
        // Every key of the store is in one slot on a cluster: any of them finds the connection.
        return redis.connectionFor(lease).sync();
    }

    @Override
    public List<ScheduleEntry> entries() {
        Map<String, String> all = new TreeMap<>(sync().hgetall(entries));
        List<ScheduleEntry> out = new ArrayList<>(all.size());
        all.values().forEach(v -> out.add(codec.decode(v)));
        return out;
    }

    @Override
    public Optional<ScheduleEntry> entry(String name) {
        String v = sync().hget(entries, name);
        return v == null ? Optional.empty() : Optional.of(codec.decode(v));
    }

    @Override
    public void save(ScheduleEntry entry) {
        sync().hset(entries, entry.name(), codec.encode(entry));
    }

    @Override
    public boolean remove(String name) {
        sync().hdel(state, name);
        return sync().hdel(entries, name) == 1;
    }

    @Override
    public EntryState state(String name) {
        return codec.decodeState(sync().hget(state, name));
    }

    @Override
    public void recordRun(String name, Instant due, Instant at, boolean sent) {
        EntryState s = state(name);
        EntryState next = new EntryState(due, sent ? at : s.lastRunAt(), s.totalRunCount() + (sent ? 1 : 0));
        sync().hset(state, name, codec.encodeState(next));
    }

    @Override
    public Optional<Long> lease(String holder, Duration ttl) {
        Long token = LEASE_SCRIPT.run(sync(), ScriptOutputType.INTEGER, new String[] {lease, this.token},
                holder, Long.toString(ttl.toMillis()), "acquire");
        return Optional.ofNullable(token);
    }

    @Override
    public void release(String holder) {
        LEASE_SCRIPT.run(sync(), ScriptOutputType.INTEGER, new String[] {lease, this.token}, holder, "0",
                "release");
    }

    @Override
    public Optional<DispatchLedger> dispatchLedger() {
        return Optional.ofNullable(ledger);
    }

    @Override
    public void close() {
        redis.close();
    }
}
