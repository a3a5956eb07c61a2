package io.celeriac.beat;

import io.celeriac.Celeriac;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.SendOptions;
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
 * published through {@link io.celeriac.broker.Broker#publishOnce}, which records the dispatch and publishes in one
 * atomic step, and the task id is derived from the entry and the due time. So each tick is sent exactly once,
 * across failovers.
 *
 * <p>The store is re-read every tick (at most a second apart), so entries added, edited, disabled or removed while
 * beat runs take effect within a second. After downtime, an entry with {@code catchUp} sends its latest missed run
 * once; without, missed runs are skipped. Never a burst.
 */
public final class Beat implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("celeriac.beat");
    static final Duration LEASE = Duration.ofSeconds(10);
    static final Duration MAX_SLEEP = Duration.ofSeconds(1);
    /** A due time this far in the past counts as missed (beat was down), not just reached. */
    static final Duration MISSED_AFTER = Duration.ofSeconds(5);
    /** How long a dispatch record is kept: longer than any failover. */
    static final Duration KEEP_RECORDS = Duration.ofDays(7);

    private final Celeriac app;
    private final ScheduleStore store;
    private final Clock clock;
    private final String holder;
    private final Duration lease;
    private volatile boolean leader;
    private volatile boolean running;
    private Thread thread;

    public Beat(Celeriac app, ScheduleStore store) {
        this(app, store, app.clock(), "beat-" + UUID.randomUUID());
    }

    public Beat(Celeriac app, ScheduleStore store, Clock clock, String holder) {
        this(app, store, clock, holder, LEASE);
    }

    /** @param lease how long the lease lasts without renewal: the longest a failover takes */
    public Beat(Celeriac app, ScheduleStore store, Clock clock, String holder, Duration lease) {
        this.app = app;
        this.store = store;
        this.clock = clock;
        this.holder = holder;
        this.lease = lease;
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
        thread = new Thread(this::loop, "celeriac-beat");
        thread.setDaemon(true);
        thread.start();
        log.info("beat {} started: {} entr{} in the store", holder, store.entries().size(),
                store.entries().size() == 1 ? "y" : "ies");
        return this;
    }

    private void loop() {
        while (running) {
            Duration sleep;
            try {
                sleep = tick();
            } catch (RuntimeException e) {
                log.warn("beat tick failed ({}); retrying", e.toString());
                sleep = MAX_SLEEP;
            }
            try {
                Thread.sleep(Math.max(10, sleep.toMillis()));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One round: renew or take the lease, send what is due. Returns how long to wait before the next round. */
    public Duration tick() {
        Optional<Long> token = store.lease(holder, lease);
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
        for (ScheduleEntry e : store.entries()) {
            if (!e.enabled()) {
                continue;
            }
            Optional<Instant> n = process(e, now);
            if (n.isPresent() && n.get().isBefore(next)) {
                next = n.get();
            }
        }
        return Duration.between(clock.instant(), next);
    }

    /** Sends the entry if due; returns its next due time. */
    private Optional<Instant> process(ScheduleEntry e, Instant now) {
        EntryState state = store.state(e.name());
        Schedule s = e.schedule();
        if (state.lastDue() == null) {
            // First sight: runs due before now (or before the entry's start) are not owed, as with Celery's fresh
            // entries. A one-off whose time has just passed is still owed.
            Instant baseline = e.startTime() != null ? e.startTime().minusMillis(1) : now;
            if (s instanceof ClockedSchedule c && c.at().isBefore(baseline)) {
                baseline = c.at().minusMillis(1);
            }
            store.recordRun(e.name(), baseline, now, false);
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
        boolean missed = !latest.equals(due.get()) || latest.isBefore(now.minus(MISSED_AFTER));
        boolean inWindow = (e.startTime() == null || !latest.isBefore(e.startTime()))
                && (e.endTime() == null || !latest.isAfter(e.endTime()));
        if (inWindow && (!missed || e.catchUp())) {
            send(e, latest, now, missed);
            if (e.oneOff()) {
                store.save(e.withEnabled(false));
                return Optional.empty();
            }
        } else {
            log.info("Scheduler: skipping missed run of {} due {}", e.name(), latest);
            store.recordRun(e.name(), latest, now, false);
        }
        return s.nextAfter(latest);
    }

    private void send(ScheduleEntry e, Instant due, Instant now, boolean catchingUp) {
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
        boolean first = app.broker().publishOnce("celeriac.beat.sent:" + e.name() + ":" + due.toEpochMilli(),
                KEEP_RECORDS, out);
        store.recordRun(e.name(), due, now, first);
        if (first) {
            log.info("Scheduler: Sending due task {} ({}){}", e.name(), e.task(),
                    catchingUp ? " (catching up a run missed at " + due + ")" : "");
        } else {
            log.info("Scheduler: {} due {} was already sent by another beat", e.name(), due);
        }
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
