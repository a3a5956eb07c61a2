package io.celeriac.jdbc;

import io.celeriac.CeleriacException;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.protocol.UniqueTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Publishes what a {@link JdbcOutbox} holds: in one transaction, locks up to a batch of the oldest rows with
 * {@code SELECT ... ORDER BY id FOR UPDATE SKIP LOCKED} (PostgreSQL, MariaDB 10.6+ / MySQL 8, H2), publishes their
 * messages one by one in id order, each returning once the broker has it (on RabbitMQ: after the publisher confirm),
 * deletes them, and commits. Any number of relays may run against one table, in the application's processes or the
 * workers': each locks rows the others skip.
 *
 * <pre>{@code
 * OutboxRelay relay = outbox.relay(app.broker()).batchSize(100).build().start();
 * ...
 * relay.close();
 * }</pre>
 *
 * <p>What it guarantees, for every row committed to the outbox:
 * <ul>
 *   <li><b>published at least once</b>: a row is deleted only in the transaction that published it; if the relay
 *       dies, loses its database or the broker mid-batch, that transaction rolls back (what was published before an
 *       outage of the broker is committed first), and the row is relayed again;</li>
 *   <li><b>queued once</b>, on a broker with once-only dispatch (Redis, in memory): the message is published with
 *       {@link OnceDispatch#publishOnce} under the row's once key, which the broker keeps for
 *       {@link JdbcOutbox#keep()}, so the second publish of a row relayed again is dropped by the broker. A worker
 *       therefore receives it once, as it would any message. For a unique task the once key is the task's own, which
 *       the worker releases when the task is done: a row relayed again after its task already finished runs it
 *       again, as any later send of a unique task does;</li>
 *   <li>on a broker without it (RabbitMQ), <b>at least once</b>: a relay that dies between the broker's confirm and
 *       its commit leaves rows that the next relay publishes again, with the same task id and body. Make such tasks
 *       idempotent, as with acks late;</li>
 *   <li><b>in order per relay</b>: one relay publishes in id order. Ids are taken at insert, not at commit, so a
 *       transaction that commits late can have its rows published after later ones; relays running side by side
 *       interleave.</li>
 * </ul>
 * A message the broker refuses (any failure but {@link BrokerUnavailableException}), or a row that cannot be read, is
 * parked: its {@code failure} column says why and no relay takes it again until an operator clears it
 * ({@code UPDATE celeriac_outbox SET failure = NULL WHERE id = ...}). Parking does not hold back the rows after it.
 *
 * <p>{@link #start()} runs it on thread {@code celeriac-outbox-relay}: a batch, then another at once if the batch was
 * full, else a pause of {@link Builder#pollInterval} that {@link #wake()} cuts short (the starter wakes it after each
 * commit that wrote to the outbox). While the database or the broker cannot be reached it waits 1, 2, 4, then 5 s
 * between attempts, saying so in the log. {@link #relayBatch()} runs one batch on the caller's thread instead.
 * Thread-safe; {@link #close()} stops the thread.
 */
public final class OutboxRelay implements AutoCloseable {
    /** Rows per batch (per transaction), by default. */
    public static final int DEFAULT_BATCH_SIZE = 100;
    /** The pause after a batch that was not full, by default. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);
    private static final int FAILURE_LENGTH = 2000;
    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);

    /**
     * What a relay does, for metrics and tests. Called on the relay's thread while its transaction is open, so it must
     * be fast; what it throws is logged and ignored. Every method does nothing by default.
     */
    public interface Listener {
        /**
         * A row's message went to the broker ({@code published}), or its once key was found taken ({@code false}: it
         * was queued by an earlier attempt at this row, or it is a unique task still pending). The row's delete
         * commits after the batch.
         */
        default void relayed(OutboundMessage message, boolean published) {
        }

        /** A row was parked: the broker refused its message, or it could not be read ({@code message} null). */
        default void parked(long rowId, @Nullable OutboundMessage message, String reason) {
        }
    }

    private final JdbcOutbox outbox;
    private final Broker broker;
    private final int batchSize;
    private final Duration pollInterval;
    private final Listener listener;
    private final String lockQuery;
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final AtomicLong parked = new AtomicLong();
    private final Object signal = new Object();
    private boolean woken;
    private volatile boolean closed;
    private @Nullable Thread thread;

    private OutboxRelay(Builder b) {
        this.outbox = b.outbox;
        this.broker = b.broker;
        this.batchSize = b.batchSize;
        this.pollInterval = b.pollInterval;
        this.listener = b.listener;
        // Plain SQL all three databases accept in this order (LIMIT, then the locking clause).
        this.lockQuery = "SELECT id, once_key, keep_seconds, message FROM " + JdbcOutbox.TABLE
                + " WHERE failure IS NULL ORDER BY id LIMIT " + batchSize + " FOR UPDATE SKIP LOCKED";
    }

    static Builder builder(JdbcOutbox outbox, Broker broker) {
        return new Builder(outbox, broker);
    }

    /** Starts the relay's thread; once. */
    public synchronized OutboxRelay start() {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (thread == null) {
            if (broker.onceDispatch().isEmpty()) {
                log.info("The outbox relay publishes to {}, which cannot publish once per key: a row relayed again "
                        + "after a relay died between the broker's confirm and its commit is queued twice (the same "
                        + "task id)", broker.getClass().getSimpleName());
            }
            Thread t = new Thread(this::loop, "celeriac-outbox-relay");
            t.setDaemon(true);
            thread = t;
            t.start();
            log.info("Outbox relay started: batches of {}, polling every {} ms", batchSize, pollInterval.toMillis());
        }
        return this;
    }

    /** Ends the pause between batches now: there are new rows (the starter calls it after each such commit). */
    public void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    /** Messages published so far, duplicates not counted. */
    public long published() {
        return published.get();
    }

    /** Rows whose once key was found taken (relayed again after a relay died, or a unique task still pending). */
    public long duplicates() {
        return duplicates.get();
    }

    /** Rows parked so far. */
    public long parked() {
        return parked.get();
    }

    /**
     * Relays one batch on the calling thread: locks up to a batch of rows, publishes and deletes them, commits.
     *
     * @return how many rows it took: published, found already queued, or parked
     * @throws BrokerUnavailableException if the broker could not be reached; the rows published before it were
     *     committed as relayed, the others stay
     * @throws CeleriacException if the database failed; nothing of the batch was committed, and its rows are relayed
     *     again (under their once keys)
     */
    public int relayBatch() {
        try (Connection c = outbox.dataSource().getConnection()) {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                return relay(c);
            } catch (SQLException | RuntimeException e) {
                rollback(c, e);
                throw e;
            } finally {
                restore(c, autoCommit);
            }
        } catch (SQLException e) {
            throw new CeleriacException("Relaying the outbox failed in its database: " + e.getMessage(), e);
        }
    }

    private record Row(long id, String onceKey, long keepSeconds, String message) {
    }

    private int relay(Connection c) throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(lockQuery); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                rows.add(new Row(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getString(4)));
            }
        }
        if (rows.isEmpty()) {
            c.commit();
            return 0;
        }
        Optional<OnceDispatch> once = broker.onceDispatch();
        List<Long> done = new ArrayList<>(rows.size());
        BrokerUnavailableException outage = null;
        int repeats = 0;
        try (PreparedStatement park = c.prepareStatement("UPDATE " + JdbcOutbox.TABLE + " SET failure = ? "
                + "WHERE id = ?")) {
            for (Row r : rows) {
                OutboundMessage m;
                try {
                    m = outbox.codec().decode(r.message);
                } catch (RuntimeException e) {
                    park(park, r, null, "unreadable: " + e.getMessage());
                    continue;
                }
                boolean sent;
                try {
                    sent = publish(once, r, m);
                } catch (BrokerUnavailableException e) {
                    // why stop: the rows after it are no more likely to get through, and order is kept.
                    outage = e;
                    break;
                } catch (RuntimeException e) {
                    park(park, r, m, e.toString());
                    continue;
                }
                done.add(r.id);
                (sent ? published : duplicates).incrementAndGet();
                if (!sent && r.onceKey.startsWith(JdbcOutbox.KEY_PREFIX)) {
                    repeats++;
                }
                try {
                    listener.relayed(m, sent);
                } catch (RuntimeException e) {
                    log.warn("Outbox relay listener failed on {}: {}", m.taskId(), e.toString());
                }
            }
        }
        delete(c, done);
        if (repeats > 0) {
            log.info("{} outbox row(s) of this batch were already queued by a relay that stopped before deleting "
                    + "them: not queued again", repeats);
        }
        // If this commit fails, the rows published in the batch stay and are relayed again: their once keys keep a
        // broker that has once-only dispatch from queueing them twice.
        c.commit();
        if (outage != null) {
            throw outage;
        }
        return rows.size(); // each one published, found queued, or parked
    }

    private boolean publish(Optional<OnceDispatch> once, Row r, OutboundMessage m) {
        if (once.isEmpty()) {
            broker.publish(List.of(m));
            return true;
        }
        boolean sent = once.get().publishOnce(r.onceKey, Duration.ofSeconds(r.keepSeconds), m);
        if (!sent) {
            if (r.onceKey.startsWith(UniqueTask.KEY_PREFIX)) {
                log.info("Dropped outbox row {} (task {}): a task with this id is already pending or running", r.id,
                        m.taskId());
            } else {
                log.debug("Outbox row {} (task {}) was already queued by an earlier relay that stopped before "
                        + "deleting it: not queued again", r.id, m.taskId());
            }
        }
        return sent;
    }

    private void park(PreparedStatement park, Row r, @Nullable OutboundMessage m, String reason) throws SQLException {
        String why = reason.length() > FAILURE_LENGTH ? reason.substring(0, FAILURE_LENGTH) : reason;
        park.setString(1, why);
        park.setLong(2, r.id);
        park.executeUpdate();
        parked.incrementAndGet();
        log.error("Parked outbox row {} (task {}): {}. It is not relayed again until its failure column is cleared",
                r.id, m == null ? "?" : m.taskId(), why);
        try {
            listener.parked(r.id, m, why);
        } catch (RuntimeException e) {
            log.warn("Outbox relay listener failed on row {}: {}", r.id, e.toString());
        }
    }

    private static void delete(Connection c, List<Long> ids) throws SQLException {
        if (ids.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + JdbcOutbox.TABLE + " WHERE id = ?")) {
            for (long id : ids) {
                ps.setLong(1, id);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static void rollback(Connection c, Exception cause) {
        try {
            c.rollback();
        } catch (SQLException e) {
            // A connection that is gone rolls back by itself on the server.
            cause.addSuppressed(e);
        }
    }

    private static void restore(Connection c, boolean autoCommit) {
        try {
            c.setAutoCommit(autoCommit);
        } catch (SQLException e) {
            // A broken connection: the pool discards it.
        }
    }

    private void loop() {
        ReconnectBackoff backoff = new ReconnectBackoff(log);
        while (!closed) {
            int n;
            try {
                n = relayBatch();
                backoff.succeeded();
            } catch (BrokerUnavailableException e) {
                pause(backoff.failed("the broker", e), false);
                continue;
            } catch (RuntimeException e) {
                pause(backoff.failed("the outbox table", e), false);
                continue;
            }
            if (n < batchSize) {
                pause(pollInterval, true);
            }
        }
    }

    /** Waits {@code d}, or less if closed or ({@code wakeable}) woken. */
    private void pause(Duration d, boolean wakeable) {
        long deadline = System.nanoTime() + d.toNanos();
        synchronized (signal) {
            try {
                while (!closed && !(wakeable && woken)) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    TimeUnit.NANOSECONDS.timedWait(signal, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
            if (wakeable) {
                woken = false;
            }
        }
    }

    /** Stops the thread: lets a batch under way finish (up to 10 s), then interrupts it. Idempotent. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            t = thread;
        }
        synchronized (signal) {
            signal.notifyAll();
        }
        if (t == null || t == Thread.currentThread()) {
            return;
        }
        try {
            t.join(CLOSE_WAIT.toMillis());
            if (t.isAlive()) {
                log.warn("Outbox relay still busy after {} s; interrupting it", CLOSE_WAIT.toSeconds());
                t.interrupt();
                t.join(CLOSE_WAIT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static final class Builder {
        private final JdbcOutbox outbox;
        private final Broker broker;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private Duration pollInterval = DEFAULT_POLL_INTERVAL;
        private Listener listener = new Listener() {
        };

        private Builder(JdbcOutbox outbox, Broker broker) {
            this.outbox = Objects.requireNonNull(outbox, "outbox");
            this.broker = Objects.requireNonNull(broker, "broker");
        }

        /** Rows locked, published and deleted per transaction ({@link #DEFAULT_BATCH_SIZE}: 100). */
        public Builder batchSize(int v) {
            if (v < 1) {
                throw new IllegalArgumentException("batchSize < 1: " + v);
            }
            this.batchSize = v;
            return this;
        }

        /** The pause after a batch that was not full ({@link #DEFAULT_POLL_INTERVAL}: 500 ms). */
        public Builder pollInterval(Duration v) {
            if (v.isNegative() || v.isZero()) {
                throw new IllegalArgumentException("pollInterval must be positive, was " + v);
            }
            this.pollInterval = v;
            return this;
        }

        public Builder listener(Listener v) {
            this.listener = Objects.requireNonNull(v, "listener");
            return this;
        }

        public OutboxRelay build() {
            return new OutboxRelay(this);
        }
    }
}
