package io.celeriac.jdbc;

import io.celeriac.CeleriacException;
import io.celeriac.SendInterceptor;
import io.celeriac.broker.Broker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.OutboundMessageCodec;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The transactional outbox: a send made inside the application's database transaction is written to table
 * {@code celeriac_outbox} on the transaction's own connection, so it commits or rolls back with the rows it refers to,
 * and an {@link OutboxRelay} publishes it once committed. A row committed with its message lost, or a message sent for
 * a row rolled back, cannot happen: the message is a row like the others.
 *
 * <pre>{@code
 * JdbcOutbox outbox = JdbcOutbox.create(dataSource);                 // creates the table (Flyway, V5)
 * Celeriac app = Celeriac.builder().config(config).sendInterceptor(outbox.interceptor()).build();
 * OutboxRelay relay = outbox.relay(app.broker()).build().start();    // in this process, a worker's, or several
 *
 * try (Connection c = dataSource.getConnection()) {
 *     c.setAutoCommit(false);
 *     long orderId = insertOrder(c, order);
 *     outbox.within(c, () -> app.task("orders.send_invoice_email").delay(orderId));   // a row on c, not sent yet
 *     c.commit();                                                    // the order and its message, or neither
 * }
 * }</pre>
 *
 * <p>Each message keeps the task id chosen at the send, and the relay publishes it under a once key stored with the
 * row (a unique task's own key, else {@code celeriac.outbox:<uuid>}), kept on the broker for {@link #keep()}: on a
 * broker with once-only dispatch (Redis) a row relayed again after a relay died between the broker's confirm and its
 * delete is not queued a second time. {@link OutboxRelay} states the guarantees.
 *
 * <p>The Spring Boot starter writes through {@link #write} on the connection of the current Spring transaction
 * ({@code celeriac.outbox.enabled}). Thread-safe.
 */
public final class JdbcOutbox {
    /** How long the broker keeps a relayed row's once key, by default: one day. */
    public static final Duration DEFAULT_KEEP = Duration.ofDays(1);
    /** The prefix of the once keys of rows that are not unique tasks. */
    public static final String KEY_PREFIX = "celeriac.outbox:";
    static final String TABLE = "celeriac_outbox";

    private final DataSource dataSource;
    private final Clock clock;
    private final Duration keep;
    private final OutboundMessageCodec codec = new OutboundMessageCodec();
    /** The connection {@link #within} bound on this thread, for {@link #interceptor()}. */
    private final ThreadLocal<@Nullable Connection> bound = new ThreadLocal<>();

    private JdbcOutbox(Builder b) {
        this.dataSource = b.dataSource;
        this.clock = b.clock;
        this.keep = b.keep;
        if (b.migrate) {
            JdbcScheduleStore.migrate(dataSource);
        }
    }

    /** An outbox in {@code dataSource} with the defaults; creates or upgrades Celeriac's tables. */
    public static JdbcOutbox create(DataSource dataSource) {
        return builder(dataSource).build();
    }

    public static Builder builder(DataSource dataSource) {
        return new Builder(dataSource);
    }

    public DataSource dataSource() {
        return dataSource;
    }

    /** How long the broker keeps a relayed row's once key ({@link Builder#keep}). */
    public Duration keep() {
        return keep;
    }

    /**
     * Writes the send's messages on {@code c}, one row each in order, inside whatever transaction {@code c} is in;
     * commits nothing. The send is then the relay's to publish: {@link SendInterceptor.Send#proceed()} is not called.
     *
     * @throws CeleriacException if the insert failed (the caller's transaction should roll back)
     */
    public void write(Connection c, SendInterceptor.Send send) {
        String onceKey = send.onceKey().orElse(null);
        long keepSeconds = Math.max(1, (onceKey == null ? keep : send.onceKeep()).toSeconds());
        Instant now = clock.instant();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE
                + " (once_key, keep_seconds, task_id, task_name, message, created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (OutboundMessage m : send.messages()) {
                // why a key of its own per row, not the task id: a caller may send one id twice on purpose, and
                // the outbox must not swallow the second send, only the relay's own repeat of a row.
                ps.setString(1, onceKey != null ? onceKey : KEY_PREFIX + UUID.randomUUID());
                ps.setLong(2, keepSeconds);
                ps.setString(3, m.taskId());
                Object task = m.message().headers().get("task");
                ps.setString(4, task == null ? null : task.toString());
                ps.setString(5, codec.encode(m));
                JdbcScheduleStore.setInstant(ps, 6, now);
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            throw new CeleriacException("Writing " + send + " to the outbox failed: " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code sends} with the sends it makes through {@link #interceptor()} written on {@code c}, in its
     * transaction: the caller commits or rolls back {@code c} afterwards. Applies to the calling thread only; nests.
     *
     * @return what {@code sends} returns
     */
    public <T extends @Nullable Object> T within(Connection c, Supplier<T> sends) {
        Objects.requireNonNull(c, "c");
        Connection previous = bound.get();
        bound.set(c);
        try {
            return sends.get();
        } finally {
            if (previous == null) {
                bound.remove();
            } else {
                bound.set(previous);
            }
        }
    }

    /**
     * The interceptor for {@code Celeriac.Builder.sendInterceptor}: a send made inside {@link #within} is written on
     * its connection; any other send goes on to the broker at once.
     */
    public SendInterceptor interceptor() {
        return send -> {
            Connection c = bound.get();
            if (c == null) {
                send.proceed();
            } else {
                write(c, send);
            }
        };
    }

    /** A relay publishing this outbox's rows to {@code broker}. */
    public OutboxRelay.Builder relay(Broker broker) {
        return OutboxRelay.builder(this, broker);
    }

    /** Rows waiting for a relay (parked ones not counted), read now from the table. */
    public long pending() {
        return count("failure IS NULL");
    }

    /** Rows parked because the broker refused their message (see {@link OutboxRelay}), read now from the table. */
    public long parked() {
        return count("failure IS NOT NULL");
    }

    private long count(String condition) {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM " + TABLE + " WHERE " + condition)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new CeleriacException("Counting the outbox's rows failed: " + e.getMessage(), e);
        }
    }

    OutboundMessageCodec codec() {
        return codec;
    }

    public static final class Builder {
        private final DataSource dataSource;
        private Clock clock = Clock.systemUTC();
        private Duration keep = DEFAULT_KEEP;
        private boolean migrate = true;

        private Builder(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        }

        /**
         * How long the broker keeps a relayed row's once key ({@link #DEFAULT_KEEP}: one day). It must outlast the
         * longest a relay can hold rows it published without having committed their delete: until its database
         * notices the relay is gone (a killed process: at once; a vanished host: TCP keepalive, two hours by
         * default on Linux). Each key costs the broker about 100 bytes while it lives.
         */
        public Builder keep(Duration v) {
            if (v.isNegative() || v.isZero()) {
                throw new IllegalArgumentException("keep must be positive, was " + v);
            }
            this.keep = v;
            return this;
        }

        /** The clock of {@code created_at}. */
        public Builder clock(Clock v) {
            this.clock = Objects.requireNonNull(v, "clock");
            return this;
        }

        /**
         * Whether to create or upgrade Celeriac's tables (Flyway, history in {@code celeriac_schema_history}) when
         * built: yes by default; off where the schema is managed elsewhere.
         */
        public Builder migrate(boolean v) {
            this.migrate = v;
            return this;
        }

        public JdbcOutbox build() {
            return new JdbcOutbox(this);
        }
    }
}
