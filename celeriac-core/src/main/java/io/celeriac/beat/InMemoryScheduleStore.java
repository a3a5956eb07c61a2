package io.celeriac.beat;

import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.InMemoryDispatchLedger;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/** Entries in memory, for the demo and tests; one process only. */
public final class InMemoryScheduleStore implements ScheduleStore {
    private final Map<String, ScheduleEntry> entries = new TreeMap<>();
    private final Map<String, EntryState> states = new TreeMap<>();
    private final Clock clock;
    private @Nullable String holder;
    private Instant leaseUntil = Instant.EPOCH;
    private long fence;
    private final InMemoryDispatchLedger ledger;

    public InMemoryScheduleStore(Clock clock) {
        this.clock = clock;
        this.ledger = new InMemoryDispatchLedger(clock);
    }

    @Override
    public synchronized List<ScheduleEntry> entries() {
        return new ArrayList<>(entries.values());
    }

    @Override
    public synchronized Optional<ScheduleEntry> entry(String name) {
        return Optional.ofNullable(entries.get(name));
    }

    @Override
    public synchronized void save(ScheduleEntry entry) {
        entries.put(entry.name(), entry);
    }

    @Override
    public synchronized boolean remove(String name) {
        states.remove(name);
        return entries.remove(name) != null;
    }

    @Override
    public synchronized EntryState state(String name) {
        return states.getOrDefault(name, EntryState.NEW);
    }

    @Override
    public synchronized void recordRun(String name, Instant due, Instant at, boolean sent) {
        EntryState s = state(name);
        states.put(name, new EntryState(due, sent ? at : s.lastRunAt(), s.totalRunCount() + (sent ? 1 : 0)));
    }

    @Override
    public synchronized Optional<Long> lease(String who, Duration ttl) {
        Instant now = clock.instant();
        if (holder == null || !leaseUntil.isAfter(now) || holder.equals(who)) {
            if (!who.equals(holder) || !leaseUntil.isAfter(now)) {
                fence++;
            }
            holder = who;
            leaseUntil = now.plus(ttl);
            return Optional.of(fence);
        }
        return Optional.empty();
    }

    @Override
    public synchronized void release(String who) {
        if (who.equals(holder)) {
            holder = null;
        }
    }

    @Override
    public Optional<DispatchLedger> dispatchLedger() {
        return Optional.of(ledger);
    }
}
