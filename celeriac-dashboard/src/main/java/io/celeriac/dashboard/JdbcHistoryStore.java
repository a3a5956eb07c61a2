package io.celeriac.dashboard;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.celeriac.CeleriacException;
import io.celeriac.jdbc.JdbcDialect;
import io.celeriac.jdbc.JdbcResultBackend;
import org.flywaydb.core.Flyway;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The task history in a relational database (PostgreSQL, MariaDB or MySQL, H2): one row per task id in
 * {@code celeriac_dashboard_task} with the record as JSON, ordered by first-seen time, the same contract as
 * {@link RedisHistoryStore} — for a deployment with no Redis (RabbitMQ and PostgreSQL, say).
 *
 * <p>Saving a task that is there replaces its record but keeps its place: its place is when it was first seen, not
 * when it last changed (the dialect's upsert, {@link JdbcDialect#upsert}, updates the record column only). Writes go
 * in batches of {@value #CHUNK} rows, one transaction each, ids sorted so that two dashboards writing the same tasks
 * take their row locks in one order and cannot deadlock.
 *
 * <p>The schema is created and upgraded by Flyway ({@code db/celeriac-dashboard}, or {@code -mariadb}), with its own
 * history table {@code celeriac_dashboard_schema_history}, so it can share a database (and schema) with
 * {@code celeriac-jdbc}'s result backend and beat schedules. Like the Redis store it touches the database on first
 * use, not when built, so that a dashboard starts while the database is down: the pool is made without a connection,
 * and the migrations run before the first statement (again on the next call if they could not).
 *
 * <p>Failures: a database out of reach, or a transaction aborted for a concurrent one, throws
 * {@link HistoryStoreUnavailableException} (the dashboard keeps unsaved records for its next flush and answers 503);
 * anything else a {@link CeleriacException}. Thread-safe.
 */
public final class JdbcHistoryStore implements HistoryStore {
    private static final Logger log = LoggerFactory.getLogger(JdbcHistoryStore.class);
    static final String TABLE = "celeriac_dashboard_task";
    private static final int CHUNK = 1000;
    /** How long a statement waits for a pooled connection before the store counts the database as down. */
    private static final long CONNECTION_TIMEOUT_MS = 3000;

    private final DataSource dataSource;
    private final @Nullable AutoCloseable owned;
    private final String where;
    private volatile @Nullable JdbcDialect dialect;
    private volatile @Nullable String upsert;
    /**
     * At least as many rows as the table holds, as far as this store's own writes tell (-1: unknown, count on the
     * next trim); saves add their batch size, so {@link #trim} counts only when the bound passes the maximum.
     */
    private long rowsAtMost = -1;

    /** On a data source the caller owns (and closes). */
    public JdbcHistoryStore(DataSource dataSource) {
        this(dataSource, null, "the dashboard's history database");
    }

    private JdbcHistoryStore(DataSource dataSource, @Nullable AutoCloseable owned, String where) {
        this.dataSource = dataSource;
        this.owned = owned;
        this.where = where;
    }

    /**
     * Opens a small pool (two connections) to {@code jdbcUrl}; user and password may be null (then the URL or the
     * driver's defaults decide). Connects on first use.
     */
    public static JdbcHistoryStore open(String jdbcUrl, @Nullable String user, @Nullable String password) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(2);
        hc.setMinimumIdle(0);
        hc.setPoolName("celeriac-dashboard-history");
        hc.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
        // why -1: build the pool without a connection, so that the dashboard starts while the database is down.
        hc.setInitializationFailTimeout(-1);
        HikariDataSource ds = new HikariDataSource(hc);
        return new JdbcHistoryStore(ds, ds, "the dashboard's history database at " + redact(jdbcUrl));
    }

    /** {@code jdbcUrl} without its query string, which may hold a password. */
    static String redact(String jdbcUrl) {
        int q = jdbcUrl.indexOf('?');
        int semicolon = jdbcUrl.indexOf(';');
        int cut = q < 0 ? semicolon : semicolon < 0 ? q : Math.min(q, semicolon);
        return cut < 0 ? jdbcUrl : jdbcUrl.substring(0, cut) + "?…";
    }

    /** Runs the migrations once; until they have run, every call tries them first. */
    private void ensureSchema() {
        if (upsert != null) {
            return;
        }
        synchronized (this) {
            if (upsert != null) {
                return;
            }
            JdbcDialect d;
            try (Connection c = dataSource.getConnection()) {
                d = JdbcDialect.of(c);
            } catch (SQLException e) {
                throw failed("Connecting", e);
            }
            // why baselineVersion 0: on a database that already holds other tables (celeriac-jdbc's, say) and not
            // yet our history table, Flyway's baseline would otherwise be version 1 and skip our V1.
            Flyway.configure().dataSource(dataSource).locations(d.migrations("classpath:db/celeriac-dashboard"))
                    .table("celeriac_dashboard_schema_history").baselineOnMigrate(true).baselineVersion("0")
                    .load().migrate();
            dialect = d;
            upsert = d.upsert(TABLE, List.of("task_id"), List.of("task_id", "first_seen", "record"),
                    List.of("record"));
            log.info("dashboard: task history in {} ({})", where, d.name());
        }
    }

    private CeleriacException failed(String what, SQLException e) {
        if (JdbcResultBackend.unreachable(e)) {
            return new HistoryStoreUnavailableException(what + " failed: " + where + " cannot be reached ("
                    + e.getMessage() + ")", e);
        }
        if (JdbcResultBackend.contended(e)) {
            return new HistoryStoreUnavailableException(what + " failed: " + where + " aborted it for a concurrent "
                    + "transaction (" + e.getMessage() + "); it is safe to repeat", e);
        }
        return new CeleriacException(what + " failed in " + where + ": " + e.getMessage(), e);
    }

    @Override
    public List<TaskRecord> load(int max) {
        ensureSchema();
        if (max <= 0) {
            return List.of();
        }
        List<TaskRecord> out = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            // Off autocommit, PostgreSQL's driver streams by the fetch size instead of reading 100k rows at once.
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("SELECT record FROM " + TABLE
                    + " ORDER BY first_seen DESC, task_id DESC")) {
                ps.setMaxRows(max);
                ps.setFetchSize(Math.min(CHUNK, max)); // H2 refuses a fetch size above the max rows
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(TaskRecord.fromJson(rs.getString(1)));
                    }
                }
                c.commit();
            }
        } catch (SQLException e) {
            throw failed("Loading the task history", e);
        }
        return out;
    }

    @Override
    public void save(Collection<TaskRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        ensureSchema();
        // The last record of an id wins; sorted by id so that concurrent writers lock rows in one order.
        Map<String, TaskRecord> last = new LinkedHashMap<>();
        records.forEach(r -> last.put(r.id(), r));
        List<TaskRecord> all = new ArrayList<>(last.values());
        all.sort(Comparator.comparing(TaskRecord::id));
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(upsert)) {
                for (int i = 0; i < all.size(); i += CHUNK) {
                    for (TaskRecord t : all.subList(i, Math.min(all.size(), i + CHUNK))) {
                        ps.setString(1, t.id());
                        ps.setDouble(2, t.firstSeen());
                        ps.setString(3, t.toJson());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                    c.commit();
                }
            } catch (SQLException e) {
                rollback(c, e);
                throw e;
            }
        } catch (SQLException e) {
            throw failed("Saving " + all.size() + " task(s)", e);
        }
        synchronized (this) {
            if (rowsAtMost >= 0) {
                rowsAtMost += all.size();
            }
        }
    }

    @Override
    public void trim(int max) {
        ensureSchema();
        synchronized (this) {
            if (rowsAtMost >= 0 && rowsAtMost <= max) {
                return;
            }
        }
        try (Connection c = dataSource.getConnection()) {
            long count;
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM " + TABLE);
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                count = rs.getLong(1);
            }
            if (count > max) {
                // The newest row that goes: the (max+1)-th newest; it and everything older are deleted.
                double firstSeen;
                String id;
                try (PreparedStatement ps = c.prepareStatement("SELECT first_seen, task_id FROM " + TABLE
                        + " ORDER BY first_seen DESC, task_id DESC LIMIT 1 OFFSET ?")) {
                    ps.setInt(1, Math.max(0, max));
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return; // another writer trimmed meanwhile
                        }
                        firstSeen = rs.getDouble(1);
                        id = rs.getString(2);
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE
                        + " WHERE first_seen < ? OR (first_seen = ? AND task_id <= ?)")) {
                    ps.setDouble(1, firstSeen);
                    ps.setDouble(2, firstSeen);
                    ps.setString(3, id);
                    count -= ps.executeUpdate();
                }
            }
            synchronized (this) {
                rowsAtMost = count;
            }
        } catch (SQLException e) {
            throw failed("Trimming the task history to " + max, e);
        }
    }

    @Override
    public void remove(Collection<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        ensureSchema();
        List<String> sorted = new ArrayList<>(new TreeSet<>(ids));
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE + " WHERE task_id = ?")) {
                for (int i = 0; i < sorted.size(); i += CHUNK) {
                    for (String id : sorted.subList(i, Math.min(sorted.size(), i + CHUNK))) {
                        ps.setString(1, id);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                    c.commit();
                }
            } catch (SQLException e) {
                rollback(c, e);
                throw e;
            }
        } catch (SQLException e) {
            throw failed("Removing " + sorted.size() + " task(s)", e);
        }
    }

    /** The first error says what went wrong; a rollback failing on a lost connection must not hide it. */
    private static void rollback(Connection c, SQLException e) {
        try {
            c.rollback();
        } catch (SQLException rollback) {
            e.addSuppressed(rollback);
        }
    }


    /** Closes the pool if {@link #open} made it; a data source given by the caller stays open. */
    @Override
    public void close() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                log.debug("closing the history pool: {}", e.toString());
            }
        }
    }
}
