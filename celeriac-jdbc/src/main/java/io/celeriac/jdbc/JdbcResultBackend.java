package io.celeriac.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.celeriac.CeleriacException;
import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.backend.ResultDocument;
import io.celeriac.protocol.MessageCodec;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientConnectionException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Results in a table ({@code celeriac_task_result}; PostgreSQL, MariaDB, H2), Celery's {@code django-db} backend. Writes are
 * batched into one transaction; {@link #await} polls with a growing interval, as database backends do (there is no
 * notification to wait on). An expiry job deletes rows past {@code result_expires}; {@link #query} serves the
 * dashboard's lists by state, name and date. Chord parts are counted in two more tables ({@link #chords()}, see
 * {@code JdbcChords}), expired by the same job.
 */
public final class JdbcResultBackend implements ResultBackend {
    private final DataSource dataSource;
    private final @Nullable Duration expires;
    private final Clock clock;
    private final MessageCodec json = new MessageCodec();
    private final @Nullable AutoCloseable owned;
    private final ScheduledExecutorService expiry;
    private final JdbcChords chords;

    public JdbcResultBackend(DataSource dataSource, @Nullable Duration expires, Clock clock) {
        this(dataSource, expires, clock, null);
    }

    private JdbcResultBackend(DataSource dataSource, @Nullable Duration expires, Clock clock,
                              @Nullable AutoCloseable owned) {
        this.dataSource = dataSource;
        this.expires = expires == null || expires.isZero() ? null : expires;
        this.clock = clock;
        this.owned = owned;
        JdbcScheduleStore.migrate(dataSource);
        this.chords = new JdbcChords(dataSource, this.expires, clock, json);
        this.expiry = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "celeriac-result-expiry");
            t.setDaemon(true);
            return t;
        });
        expiry.scheduleWithFixedDelay(() -> {
            try {
                deleteExpired();
            } catch (RuntimeException e) {
                // Retried at the next run; expiry is housekeeping.
            }
        }, 1, 60, TimeUnit.MINUTES);
    }

    public static JdbcResultBackend open(String jdbcUrl, String user, String password, Duration expires) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(8);
        hc.setPoolName("celeriac-results");
        HikariDataSource ds = new HikariDataSource(hc);
        return new JdbcResultBackend(ds, expires, Clock.systemUTC(), ds);
    }

    /**
     * Our exception for a JDBC failure, by kind: the database out of reach, or a transaction it aborted for another
     * one's sake, becomes {@link ResultBackendUnavailableException} (the worker waits and retries), anything else a
     * plain {@link CeleriacException} (the database refused what it was given, e.g. a value too long for its column;
     * the worker stores a FAILURE in its place instead of retrying).
     */
    static CeleriacException failed(String what, SQLException e) {
        if (unreachable(e)) {
            return new ResultBackendUnavailableException(what + " failed: the result database cannot be reached ("
                    + e.getMessage() + ")", e);
        }
        if (contended(e)) {
            return new ResultBackendUnavailableException(what + " failed: the result database aborted it for a "
                    + "concurrent transaction (" + e.getMessage() + "); it is safe to repeat", e);
        }
        return new CeleriacException(what + " failed in the result database: " + e.getMessage(), e);
    }

    /**
     * Connection trouble, on any driver: SQLState class 08 (connection exception), the JDBC connection exceptions
     * ({@link SQLNonTransientConnectionException} is what H2 throws with its own codes, "non-transient" meaning
     * only that the database has to come back first; HikariCP's "Connection is not available, request timed out" is
     * a {@link SQLTransientConnectionException}), recoverable ones, and PostgreSQL's 57P01-57P03 (the server
     * shutting down or starting, as during a restart or failover). Causes and chained exceptions count too. Public for
     * the other stores on JDBC (the dashboard's task history), which tell an outage apart the same way.
     */
    public static boolean unreachable(SQLException e) {
        for (Throwable t : chain(e)) {
            if (t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
                    || t instanceof SQLRecoverableException) {
                return true;
            }
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                if (state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                        || state.equals("57P03"))) {
                    return true;
                }
            }
            if (t instanceof java.net.ConnectException || t instanceof java.net.SocketException) {
                return true;
            }
        }
        return false;
    }

    /**
     * A transaction the database gave up on because of another one, not because of what it was given, so running it
     * again is the remedy: a deadlock or serialization failure (SQLState 40001 on every driver, PostgreSQL's 40P01),
     * a lock wait that timed out (PostgreSQL's 55P03, H2's HYT00, MariaDB's error 1205). Causes and chained
     * exceptions count too.
     */
    public static boolean contended(SQLException e) {
        for (Throwable t : chain(e)) {
            if (t instanceof SQLException sql) {
                String state = sql.getSQLState();
                if ("40001".equals(state) || "40P01".equals(state) || "55P03".equals(state) || "HYT00".equals(state)
                        || sql.getErrorCode() == 1205) {
                    return true;
                }
            }
        }
        return false;
    }

    /** {@code e}, its causes and chained exceptions (a batch's), each once. */
    private static List<Throwable> chain(SQLException e) {
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>();
        List<Throwable> out = new ArrayList<>();
        todo.add(e);
        while (!todo.isEmpty()) {
            Throwable t = todo.poll();
            if (!seen.add(t)) {
                continue;
            }
            out.add(t);
            if (t instanceof SQLException sql && sql.getNextException() != null) {
                todo.add(sql.getNextException());
            }
            if (t.getCause() != null) {
                todo.add(t.getCause());
            }
        }
        return out;
    }

    @Override
    public void store(List<ResultDocument> documents) {
        if (documents.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement del = c.prepareStatement("DELETE FROM celeriac_task_result WHERE task_id = ?");
                 PreparedStatement ins = c.prepareStatement("INSERT INTO celeriac_task_result (task_id, status, "
                         + "result, traceback, children, meta, task_name, parent_id, date_done, expires_at) "
                         + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                // Delete + insert rather than a dialect's upsert: portable, and one transaction per batch.
                Map<String, ResultDocument> last = new LinkedHashMap<>();
                documents.forEach(d -> last.put(d.taskId(), d));
                for (ResultDocument d : last.values()) {
                    del.setString(1, d.taskId());
                    del.addBatch();
                    ins.setString(1, d.taskId());
                    ins.setString(2, d.status());
                    ins.setString(3, json.writeJson(d.result()));
                    ins.setString(4, d.traceback());
                    ins.setString(5, json.writeJson(d.children()));
                    ins.setString(6, json.writeJson(d.extra()));
                    Object name = d.extra().get("name");
                    ins.setString(7, name == null ? null : name.toString());
                    ins.setString(8, d.parentId());
                    ins.setObject(9, (d.dateDone() == null ? now : d.dateDone()).atOffset(ZoneOffset.UTC));
                    if (expires == null) {
                        ins.setNull(10, Types.TIMESTAMP_WITH_TIMEZONE);
                    } else {
                        ins.setObject(10, now.plus(expires).atOffset(ZoneOffset.UTC));
                    }
                    ins.addBatch();
                }
                del.executeBatch();
                ins.executeBatch();
                c.commit();
            } catch (SQLException e) {
                // The first error says what went wrong; a rollback failing on a lost connection must not hide it.
                try {
                    c.rollback();
                } catch (SQLException rollback) {
                    e.addSuppressed(rollback);
                }
                throw e;
            }
        } catch (SQLException e) {
            throw failed("Storing " + documents.size() + " result(s)", e);
        }
    }

    @Override
    public Optional<ResultDocument> get(String taskId) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT * FROM celeriac_task_result WHERE task_id = ? AND (expires_at IS NULL OR expires_at > ?)")) {
            ps.setString(1, taskId);
            ps.setObject(2, clock.instant().atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(document(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("Reading the result of " + taskId, e);
        }
    }

    @SuppressWarnings("unchecked")
    private ResultDocument document(ResultSet rs) throws SQLException {
        String meta = rs.getString("meta");
        String children = rs.getString("children");
        return new ResultDocument(rs.getString("task_id"), rs.getString("status"), json.readJson(rs.getString("result")),
                rs.getString("traceback"), children == null ? List.of() : (List<Object>) json.readJson(children),
                rs.getObject("date_done", OffsetDateTime.class).toInstant(), rs.getString("parent_id"),
                meta == null ? Map.of() : (Map<String, Object>) json.readJson(meta));
    }

    @Override
    public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 5;
        while (true) {
            Optional<ResultDocument> d = get(taskId);
            long left = deadline - System.nanoTime();
            if ((d.isPresent() && d.get().ready()) || left <= 0) {
                return d;
            }
            Thread.sleep(Math.min(pause, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))));
            pause = Math.min(500, pause * 2);
        }
    }

    @Override
    public void forget(Collection<String> taskIds) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM celeriac_task_result WHERE task_id = ?")) {
            for (String id : taskIds) {
                ps.setString(1, id);
                ps.addBatch();
            }
            ps.executeBatch();
        } catch (SQLException e) {
            throw failed("Forgetting results", e);
        }
    }

    /**
     * Deletes results past their expiry, and chords (with their parts) untouched for as long; returns how many results
     * and chords. Runs hourly by itself.
     */
    public int deleteExpired() {
        int results;
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM celeriac_task_result WHERE expires_at IS NOT NULL AND expires_at <= ?")) {
            ps.setObject(1, clock.instant().atOffset(ZoneOffset.UTC));
            results = ps.executeUpdate();
        } catch (SQLException e) {
            throw failed("Deleting expired results", e);
        }
        return results + chords.deleteExpired();
    }

    /**
     * Results newest first, filtered by state and/or task name (null = any) and done at or after {@code since}
     * (null = any).
     */
    public List<ResultDocument> query(@Nullable String status, @Nullable String taskName, @Nullable Instant since,
                                      int limit) {
        StringBuilder sql = new StringBuilder("SELECT * FROM celeriac_task_result WHERE 1 = 1");
        List<Object> params = new ArrayList<>();
        if (status != null) {
            sql.append(" AND status = ?");
            params.add(status);
        }
        if (taskName != null) {
            sql.append(" AND task_name = ?");
            params.add(taskName);
        }
        if (since != null) {
            sql.append(" AND date_done >= ?");
            params.add(since.atOffset(ZoneOffset.UTC));
        }
        sql.append(" ORDER BY date_done DESC");
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql.toString())) {
            ps.setMaxRows(limit);
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
            List<ResultDocument> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(document(rs));
                }
            }
            return out;
        } catch (SQLException e) {
            throw failed("Querying results", e);
        }
    }

    /** Chord parts counted in {@code celeriac_chord} and {@code celeriac_chord_part}, in the result database. */
    @Override
    public Optional<ChordCounter> chords() {
        return Optional.of(chords);
    }

    @Override
    public void close() {
        expiry.shutdownNow();
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                // closing the pool on exit
            }
        }
    }
}
