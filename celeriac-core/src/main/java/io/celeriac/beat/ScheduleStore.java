package io.celeriac.beat;

import io.celeriac.broker.DispatchLedger;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where beat entries live, editable while beat runs (beat re-reads the store every tick), and the lease that elects
 * one beat process. Implementations: Redis ({@code celeriac-redis}), JDBC ({@code celeriac-jdbc}), in memory.
 *
 * <p>A store may also keep a {@link DispatchLedger}, which beat needs on a broker that cannot publish once per key by
 * itself (RabbitMQ): see {@link #dispatchLedger()}.
 */
public interface ScheduleStore {
    List<ScheduleEntry> entries();

    Optional<ScheduleEntry> entry(String name);

    /** Adds or replaces an entry. */
    void save(ScheduleEntry entry);

    /** Removes an entry and its state; false if there was none. */
    boolean remove(String name);

    EntryState state(String name);

    /** Records that the run due at {@code due} was sent ({@code sent}) or skipped. */
    void recordRun(String name, Instant due, Instant at, boolean sent);

    /**
     * Acquires or renews the beat lease for {@code holder}. Returns the fencing token (increasing with every new
     * holder) while {@code holder} holds it, empty otherwise.
     */
    Optional<Long> lease(String holder, Duration ttl);

    /** Gives the lease up if {@code holder} has it. */
    void release(String holder);

    /**
     * The store's dispatch ledger, if it can keep one (record a key with a message in one atomic step, shared by every
     * beat process using the store). Beat uses it when the broker has no {@link io.celeriac.broker.OnceDispatch} of
     * its own. Empty by default.
     */
    default Optional<DispatchLedger> dispatchLedger() {
        return Optional.empty();
    }
}
