package io.celeriac.beat;

import io.celeriac.Celeriac;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.LedgerOnceDispatch;
import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.SendOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * Sends periodic tasks when due (Celery beat), safe to run as many times over as you like.
 *
 * <p>A lease in the store elects one active beat; if it dies another takes over within the lease time. The lease
 * alone is not what prevents duplicates (a paused leader may still act after losing it): every (entry, due time) is
 * published through {@link OnceDispatch#publishOnce} under a key made of the entry and the due time, and the task id
 * is derived from the same two. Which once-only dispatch:
 * <ul>
 *   <li>the broker's own, when it has one (Redis: {@code publish_once.lua} records the key and publishes in one atomic
 *       step; in memory): each tick is sent exactly once, across failovers;</li>
 *   <li>otherwise (RabbitMQ) the schedule store's {@link DispatchLedger} through a {@link LedgerOnceDispatch}: the key
 *       is recorded with the message in one atomic step of the store, the message published (on RabbitMQ: returns
 *       after the publisher confirm), the record marked sent. Each tick is <em>recorded</em> exactly once and
 *       published at least once: the active beat relays, every round, records left pending by a beat that died
 *       between recording and marking sent, once they are {@code relayAfter} old. A tick is published twice only
 *       if a beat stopped after the broker's confirm and before the mark-sent (or stalled in between for longer
 *       than {@code relayAfter}), and then as the same task id. A store without a ledger is refused at
 *       construction.</li>
 * </ul>
 *
 * <p>The store is re-read every tick (at most a second apart), so entries added, edited, disabled or removed while
 * beat runs take effect within a second. After downtime, an entry with {@code catchUp} sends its latest missed run
 * once; without, missed runs are skipped. Never a burst.
 *
 * <p>Beat starts and keeps running while the broker or the store is unreachable: it retries with backoff
 * ({@link ReconnectBackoff}), one log line per attempt. Runs that come due while it cannot send are owed, not
 * missed: once it can, it sends the latest of them, once, whatever {@code catchUp} says (a broker outage is not
 * beat's downtime).
 */
public final class Beat implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("celeriac.beat");
    static final Duration LEASE = Duration.ofSeconds(10);
    static final Duration MAX_SLEEP = Duration.ofSeconds(1);
    /** A due time this far in the past counts as missed (beat was down), not just reached. */
    static final Duration MISSED_AFTER = Duration.ofSeconds(5);
    /** How long a dispatch record is kept: longer than any failover. */
    static final Duration KEEP_RECORDS = Duration.ofDays(7);
    /**
     * How long a dispatch record must stay pending before the active beat relays it, by default: longer than a live
     * beat can spend between recording and marking sent, which is one publish (RabbitMQ's confirm is awaited for up to
     * 30 s).
     */
    public static final Duration DEFAULT_RELAY_AFTER = Duration.ofMinutes(1);
    /** Records relayed per round at most (a backlog drains over several rounds). */
    static final int RELAY_BATCH = 100;

    private final Celeriac app;
    private final ScheduleStore store;
    private final Clock clock;
    private final String holder;
    private final Duration lease;
    private final OnceDispatch once;
    /** The ledger's dispatch, when beat publishes through the store's ledger; null when the broker's own is used. */
    private final @Nullable LedgerOnceDispatch ledgerDispatch;
    private final Duration relayAfter;
    private volatile boolean leader;
    private volatile boolean running;
    private @Nullable Thread thread;
    private final ReconnectBackoff backoff = new ReconnectBackoff(log);
    /** When the current run of failed ticks began (null while ticks succeed): runs due since are owed. */
    private volatile @Nullable Instant failingSince;
    /** What the current round failed on, to say so in the log. */
    private volatile FailedOn failedOn = FailedOn.NOTHING;

    private enum FailedOn { NOTHING, STORE, BROKER }

    public Beat(Celeriac app, ScheduleStore store) {
        this(app, store, app.clock(), "beat-" + UUID.randomUUID());
    }

    public Beat(Celeriac app, ScheduleStore store, Clock clock, String holder) {
        this(app, store, clock, holder, LEASE);
    }

    /**
     * @param lease how long the lease lasts without renewal: the longest a failover takes; records are relayed after
     *     {@link #DEFAULT_RELAY_AFTER}, or after the lease if that is longer
     */
    public Beat(Celeriac app, ScheduleStore store, Clock clock, String holder, Duration lease) {
        this(app, store, clock, holder, lease, lease.compareTo(DEFAULT_RELAY_AFTER) > 0 ? lease : DEFAULT_RELAY_AFTER);
    }

    /**
     * @param lease how long the lease lasts without renewal: the longest a failover takes
     * @param relayAfter with a dispatch ledger (a broker without once-only dispatch of its own), how long a record
     *     stays pending before the active beat publishes it again ({@link #DEFAULT_RELAY_AFTER}); not shorter than
     *     {@code lease}, and it must outlast one publish to the broker, or a live beat's send may be doubled
     * @throws UnsupportedOperationException if the broker cannot publish once per key and the store keeps no
     *     dispatch ledger
     */
    public Beat(Celeriac app, ScheduleStore store, Clock clock, String holder, Duration lease, Duration relayAfter) {
        if (relayAfter.compareTo(lease) < 0) {
            throw new IllegalArgumentException("relayAfter < lease: " + relayAfter + " < " + lease);
        }
        this.app = app;
        this.store = store;
        this.clock = clock;
        this.holder = holder;
        this.lease = lease;
        this.relayAfter = relayAfter;
        Optional<OnceDispatch> own = app.broker().onceDispatch();
        if (own.isPresent()) {
            this.once = own.get();
            this.ledgerDispatch = null;
        } else {
            DispatchLedger ledger = store.dispatchLedger().orElseThrow(() -> new UnsupportedOperationException(
                    "beat on " + app.broker().getClass().getSimpleName() + " needs a schedule store that keeps a "
                            + "dispatch ledger (JdbcScheduleStore or RedisScheduleStore); "
                            + store.getClass().getSimpleName() + " does not"));
            this.ledgerDispatch = new LedgerOnceDispatch(ledger, app.broker());
            this.once = ledgerDispatch;
        }
    }

    public ScheduleStore store() {
        return store;
    }

    public boolean isLeader() {
        return leader;
    }

    public synchronized Beat start() {
        if (running) {
            return this;
        }
        running = true;
        int entries;
        try {
            entries = store.entries().size();
        } catch (RuntimeException e) {
            // The store (often the broker's Redis) may be down: beat starts anyway and its loop retries.
            entries = -1;
        }
        thread = new Thread(this::loop, "celeriac-beat");
        thread.setDaemon(true);
        thread.start();
        if (entries >= 0) {
            log.info("beat {} started: {} entr{} in the store", holder, entries, entries == 1 ? "y" : "ies");
        } else {
            log.info("beat {} started; its schedule store does not answer yet", holder);
        }
        if (ledgerDispatch != null) {
            log.info("beat {}: {} cannot publish once per key; each due time is recorded in {}'s dispatch ledger, "
                    + "then published (the active beat publishes again a record left pending for {} ms)", holder,
                    app.broker().getClass().getSimpleName(), store.getClass().getSimpleName(), relayAfter.toMillis());
        }
        return this;
    }

    private void loop() {
        while (running) {
            Duration sleep;
            try {
                sleep = tick();
                backoff.succeeded();
            } catch (RuntimeException e) {
                if (failedOn == FailedOn.NOTHING) {
                    // Not an outage (an entry that cannot be sent, say): nothing to back off from.
                    log.warn("beat tick failed ({}); retrying", e.toString());
                    sleep = MAX_SLEEP;
                } else {
                    sleep = backoff.failed(failedOn == FailedOn.BROKER ? brokerName() : "the schedule store", e);
                }
            }
            try {
                Thread.sleep(Math.max(10, sleep.toMillis()));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private String brokerName() {
        return "the broker at " + ReconnectBackoff.redact(app.config().brokerUrl());
    }

    /**
     * One round: renew or take the lease, send what is due. Returns how long to wait before the next round.
     *
     * @throws RuntimeException if the store or the broker failed; the runs left unsent are owed, and the next
     *     round that succeeds sends them
     */
    public Duration tick() {
        Instant started = clock.instant();
        try {
            Duration next = round();
            failingSince = null;
            return next;
        } catch (RuntimeException e) {
            if (failingSince == null) {
                failingSince = started;
            }
            throw e;
        }
    }

    /** Runs a store call, noting that the round failed on the store if it throws. */
    private <T extends @Nullable Object> T inStore(java.util.function.Supplier<T> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            failedOn = FailedOn.STORE;
            throw e;
        }
    }

    private void inStore(Runnable call) {
        inStore(() -> {
            call.run();
            return null;
        });
    }

    private Duration round() {
        failedOn = FailedOn.NOTHING;
        Optional<Long> token = inStore(() -> store.lease(holder, lease));
        if (token.isEmpty()) {
            if (leader) {
                log.warn("beat {} lost the lease; standing by", holder);
            }
            leader = false;
            return MAX_SLEEP;
        }
        if (!leader) {
            log.info("beat {} is now the active scheduler (fencing token {})", holder, token.get());
            leader = true;
        }
        Instant now = clock.instant();
        Instant next = now.plus(MAX_SLEEP);
        for (ScheduleEntry e : inStore(store::entries)) {
            if (!e.enabled()) {
                continue;
            }
            Optional<Instant> n = process(e, now);
            if (n.isPresent() && n.get().isBefore(next)) {
                next = n.get();
            }
        }
        if (ledgerDispatch != null) {
            relay();
        }
        return Duration.between(clock.instant(), next);
    }

    /**
     * Publishes what a beat recorded in the ledger and never marked sent (it died in between). Only the lease holder
     * relays, and only records pending for {@code relayAfter}: a record that young may belong to a beat that is still
     * publishing it (one publish waits up to the broker's confirm timeout), and relaying it then would send the tick
     * twice. The lease keeps relays to one beat at a time, and the ledger's claim (which restarts a record's wait)
     * keeps even a deposed leader that still relays from taking the same record.
     *
     * <p>A relay that fails does not fail the round (the due runs were sent before it, and backing off would delay the
     * next ones): what it could not publish stays pending, and is claimed again once {@code relayAfter} has passed.
     */
    private void relay() {
        try {
            ledgerDispatch.relayPending(relayAfter, RELAY_BATCH);
        } catch (RuntimeException ex) {
            log.warn("beat {} could not relay pending dispatch records ({}); they stay pending and are tried again",
                    holder, ex.toString());
        }
    }

    /** Sends the entry if due; returns its next due time. */
    private Optional<Instant> process(ScheduleEntry e, Instant now) {
        EntryState state = inStore(() -> store.state(e.name()));
        Schedule s = e.schedule();
        if (state.lastDue() == null) {
            // First sight: runs due before now (or before the entry's start) are not owed, as with Celery's fresh
            // entries. A one-off whose time has just passed is still owed.
            Instant baseline = e.startTime() != null ? e.startTime().minusMillis(1) : now;
            if (s instanceof ClockedSchedule c && c.at().isBefore(baseline)) {
                baseline = c.at().minusMillis(1);
            }
            Instant first = baseline;
            inStore(() -> store.recordRun(e.name(), first, now, false));
            state = new EntryState(baseline, null, 0);
        }
        Optional<Instant> due = s.nextAfter(state.lastDue());
        if (due.isEmpty() || due.get().isAfter(now)) {
            return due;
        }
        // Several runs may have come due while beat was down: find the latest one, send at most that one.
        Instant latest = due.get();
        int steps = 0;
        while (steps++ < 100_000) {
            Optional<Instant> after = s.nextAfter(latest);
            if (after.isEmpty() || after.get().isAfter(now)) {
                break;
            }
            latest = after.get();
        }
        // A run that came due while beat was running but could not send (broker or store down) is late, not missed.
        Instant since = failingSince;
        boolean late = since != null && !latest.isBefore(since.minus(MISSED_AFTER));
        boolean missed = !late && (!latest.equals(due.get()) || latest.isBefore(now.minus(MISSED_AFTER)));
        boolean inWindow = (e.startTime() == null || !latest.isBefore(e.startTime()))
                && (e.endTime() == null || !latest.isAfter(e.endTime()));
        if (inWindow && (!missed || e.catchUp())) {
            send(e, latest, now, missed, late);
            if (e.oneOff()) {
                inStore(() -> store.save(e.withEnabled(false)));
                return Optional.empty();
            }
        } else {
            log.info("Scheduler: skipping missed run of {} due {}", e.name(), latest);
            Instant skipped = latest;
            inStore(() -> store.recordRun(e.name(), skipped, now, false));
        }
        return s.nextAfter(latest);
    }

    private void send(ScheduleEntry e, Instant due, Instant now, boolean catchingUp, boolean late) {
        String id = UUID.nameUUIDFromBytes((e.name() + "@" + due.toEpochMilli()).getBytes(StandardCharsets.UTF_8))
                .toString();
        SendOptions.Builder o = SendOptions.builder().taskId(id);
        if (e.queue() != null) {
            o.queue(e.queue());
        }
        if (e.priority() != null) {
            o.priority(e.priority());
        }
        if (e.expiresSeconds() != null) {
            o.expires(due.plusMillis(Math.round(e.expiresSeconds() * 1000)));
        }
        TaskMessage m = app.buildMessage(e.task(), e.args(), e.kwargs(), o.build());
        OutboundMessage out = new OutboundMessage(m.routingKey(), m.priority(), app.codec().encode(m), id, null);
        boolean first;
        try {
            // Once-only: if this fails after Redis took it, the retry next round finds the record and sends nothing.
            // Through the ledger, a failed publish takes its record back, so the retry records and sends it then.
            first = once.publishOnce(onceKey(e.name(), due), KEEP_RECORDS, out);
        } catch (RuntimeException ex) {
            failedOn = ledgerDispatch == null || ex instanceof BrokerUnavailableException ? FailedOn.BROKER
                    : FailedOn.STORE;
            throw ex;
        }
        inStore(() -> store.recordRun(e.name(), due, now, first));
        if (first) {
            log.info("Scheduler: Sending due task {} ({}){}", e.name(), e.task(),
                    catchingUp ? " (catching up a run missed at " + due + ")"
                            : late ? " (late: due at " + due + " while the broker or store was unreachable)" : "");
        } else {
            log.info("Scheduler: {} due {} was already sent (by another beat, or by this one before a failure)",
                    e.name(), due);
        }
    }

    /** The key under which the run of {@code entry} due at {@code due} is dispatched once. */
    public static String onceKey(String entry, Instant due) {
        return "celeriac.beat.sent:" + entry + ":" + due.toEpochMilli();
    }

    /** Sends an entry now, outside its schedule (the CLI's and dashboard's "run now"). */
    public String runNow(String name) {
        ScheduleEntry e = store.entry(name).orElseThrow(() -> new IllegalArgumentException("no entry " + name));
        SendOptions.Builder o = SendOptions.builder();
        if (e.queue() != null) {
            o.queue(e.queue());
        }
        return app.applyAsync(e.task(), e.args(), e.kwargs(), o.build()).id();
    }

    @Override
    public void close() {
        running = false;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        }
        if (leader) {
            try {
                store.release(holder);
            } catch (RuntimeException ex) {
                log.debug("could not release the beat lease: {}", ex.toString());
            }
        }
        leader = false;
    }
}
