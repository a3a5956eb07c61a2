package io.celeriac.jdbc;

import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.protocol.MessageCodec;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Chord counting in two tables of the result database: {@code celeriac_chord} (a row per chord: its size, NULL until
 * written, and its expiry) and {@code celeriac_chord_part} (a row per finished part, keyed by group and task id).
 *
 * <p>The invariant: parts of a chord are only written by a transaction that holds the lock on the chord's row
 * ({@code SELECT ... FOR UPDATE}, which PostgreSQL, MariaDB and H2 all take on the row). So a chord's part
 * transactions run one after another; each upserts its part and counts the recorded parts under the lock, and exactly
 * one of them, the one whose part made the count reach the size, sees it. Two last parts finishing at once are two
 * transactions in a row: the first counts {@code size - 1}, the second {@code size}. A part arriving before the size
 * was written (or after {@link #forget}) creates the chord's row with no size, records itself and returns empty.
 * Transactions run at READ COMMITTED (MariaDB's default is REPEATABLE READ), so a count taken after the lock sees every
 * part committed before it.
 *
 * <p>Repeats: a part recorded again (its message redelivered) replaces its row, so it counts once. If the chord was
 * complete already and not yet forgotten, the repeat returns every part again, as the Redis counter does: the worker
 * that completed the chord may have died before sending the body, and a body sent twice (with its fixed task id) beats
 * a body never sent. Once {@link #forget} ran, a repeat finds no size and returns empty, so the body is not sent
 * again; the row it leaves expires with the results.
 *
 * <p>Expiry: every write moves the chord's {@code expires_at} to {@code result_expires} from now (Redis refreshes its
 * keys' TTL the same way); {@link #deleteExpired} deletes expired chords with their parts. With no expiry, rows stay
 * until forgotten.
 *
 * <p>Failures map as the backend's other calls do ({@link JdbcResultBackend#failed}). A transaction the database
 * aborted because of another one (deadlock, lock wait timeout) is rolled back and run again a few times before it is
 * reported as {@link ResultBackendUnavailableException}. Thread-safe; each call takes its own connection.
 */
final class JdbcChords implements ChordCounter {
    /** Runs of a transaction that lost a race (deadlock, lock timeout, a row created concurrently) before giving up. */
    private static final int ATTEMPTS = 8;

    private final DataSource dataSource;
    private final @Nullable Duration expires;
    private final Clock clock;
    private final MessageCodec json;

    JdbcChords(DataSource dataSource, @Nullable Duration expires, Clock clock, MessageCodec json) {
        this.dataSource = dataSource;
        this.expires = expires;
        this.clock = clock;
        this.json = json;
    }

    @Override
    public void setSize(String groupId, int size) {
        inTransaction("Writing the size of chord " + groupId, c -> {
            Instant now = clock.instant();
            if (lock(c, groupId, size, now).existed()) {
                try (PreparedStatement ps = c.prepareStatement(
                        "UPDATE celeriac_chord SET chord_size = ?, expires_at = ? WHERE group_id = ?")) {
                    ps.setInt(1, size);
                    setExpiry(ps, 2, now);
                    ps.setString(3, groupId);
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    @Override
    public Optional<List<Part>> partDone(String groupId, String taskId, @Nullable Integer groupIndex, String state,
                                         @Nullable Object result) {
        String value = json.writeJson(result);
        return inTransaction("Recording part " + taskId + " of chord " + groupId, c -> {
            Instant now = clock.instant();
            Chord chord = lock(c, groupId, null, now);
            // Delete + insert rather than a dialect's upsert, as the result table does; the chord's lock keeps any
            // other writer of this chord's parts out until commit.
            try (PreparedStatement del = c.prepareStatement(
                    "DELETE FROM celeriac_chord_part WHERE group_id = ? AND task_id = ?")) {
                del.setString(1, groupId);
                del.setString(2, taskId);
                del.executeUpdate();
            }
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO celeriac_chord_part (group_id, task_id, "
                    + "group_index, state, result, date_done) VALUES (?, ?, ?, ?, ?, ?)")) {
                ins.setString(1, groupId);
                ins.setString(2, taskId);
                if (groupIndex == null) {
                    ins.setNull(3, Types.INTEGER);
                } else {
                    ins.setInt(3, groupIndex);
                }
                ins.setString(4, state);
                ins.setString(5, value);
                ins.setObject(6, now.atOffset(ZoneOffset.UTC));
                ins.executeUpdate();
            }
            if (chord.existed()) {
                try (PreparedStatement ps = c.prepareStatement(
                        "UPDATE celeriac_chord SET expires_at = ? WHERE group_id = ?")) {
                    setExpiry(ps, 1, now);
                    ps.setString(2, groupId);
                    ps.executeUpdate();
                }
            }
            if (chord.size() == null || count(c, groupId) != chord.size()) {
                return Optional.<List<Part>>empty();
            }
            return Optional.of(parts(c, groupId));
        });
    }

    @Override
    public void forget(String groupId) {
        inTransaction("Deleting chord " + groupId, c -> {
            // The chord's row first: its lock makes a part arriving meanwhile wait, then find no chord.
            delete(c, List.of(groupId));
            return null;
        });
    }

    /** Deletes chords whose expiry passed, with their parts; returns how many chords. */
    int deleteExpired() {
        return inTransaction("Deleting expired chords", c -> {
            List<String> expired = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT group_id FROM celeriac_chord WHERE expires_at IS "
                    + "NOT NULL AND expires_at <= ? FOR UPDATE")) {
                ps.setObject(1, clock.instant().atOffset(ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        expired.add(rs.getString(1));
                    }
                }
            }
            if (!expired.isEmpty()) {
                delete(c, expired);
            }
            return expired.size();
        });
    }

    /** What {@link #lock} found: whether the row was there, and the chord's size (null: not written yet). */
    private record Chord(boolean existed, @Nullable Integer size) {
    }

    /**
     * Locks the chord's row; if there is none, creates it (with {@code size}) and holds the new row's lock instead. If
     * another transaction created it meanwhile, the insert fails on the key: the transaction is run again, and then
     * finds the row.
     */
    private Chord lock(Connection c, String groupId, @Nullable Integer size, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT chord_size FROM celeriac_chord WHERE group_id = ? FOR UPDATE")) {
            ps.setString(1, groupId);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    int n = rs.getInt(1);
                    return new Chord(true, rs.wasNull() ? null : n);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO celeriac_chord (group_id, chord_size, created_at, "
                + "expires_at) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, groupId);
            if (size == null) {
                ps.setNull(2, Types.INTEGER);
            } else {
                ps.setInt(2, size);
            }
            ps.setObject(3, now.atOffset(ZoneOffset.UTC));
            setExpiry(ps, 4, now);
            ps.executeUpdate();
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState()) || e.getErrorCode() == 1062) {
                // Unique violation (PostgreSQL and H2; MariaDB's duplicate entry): created by someone else just now.
                throw new RaceLost(e);
            }
            throw e;
        }
        return new Chord(false, size);
    }

    private void setExpiry(PreparedStatement ps, int index, Instant now) throws SQLException {
        if (expires == null) {
            ps.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
        } else {
            ps.setObject(index, now.plus(expires).atOffset(ZoneOffset.UTC));
        }
    }

    private static int count(Connection c, String groupId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT COUNT(*) FROM celeriac_chord_part WHERE group_id = ?")) {
            ps.setString(1, groupId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** The chord's parts in group order; parts without an index last, ties by task id (as Redis's sorted set). */
    private List<Part> parts(Connection c, String groupId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT task_id, state, result FROM celeriac_chord_part "
                + "WHERE group_id = ? ORDER BY CASE WHEN group_index IS NULL THEN 1 ELSE 0 END, group_index, task_id")) {
            ps.setString(1, groupId);
            List<Part> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String result = rs.getString(3);
                    out.add(new Part(rs.getString(1), rs.getString(2), result == null ? null : json.readJson(result)));
                }
            }
            return out;
        }
    }

    private static void delete(Connection c, List<String> groupIds) throws SQLException {
        try (PreparedStatement chords = c.prepareStatement("DELETE FROM celeriac_chord WHERE group_id = ?");
             PreparedStatement parts = c.prepareStatement("DELETE FROM celeriac_chord_part WHERE group_id = ?")) {
            for (String id : groupIds) {
                chords.setString(1, id);
                chords.addBatch();
                parts.setString(1, id);
                parts.addBatch();
            }
            chords.executeBatch();
            parts.executeBatch();
        }
    }

    private interface Work<T extends @Nullable Object> {
        T run(Connection c) throws SQLException;
    }

    /** Another transaction created the chord's row first; the transaction is rolled back and run again. */
    private static final class RaceLost extends RuntimeException {
        RaceLost(SQLException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /**
     * Runs {@code work} in one READ COMMITTED transaction on a connection of its own, again when the database aborted
     * it for another transaction's sake (up to {@link #ATTEMPTS} runs, with a short random pause between them).
     */
    private <T extends @Nullable Object> T inTransaction(String what, Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            SQLException failure;
            try (Connection c = dataSource.getConnection()) {
                return inTransaction(c, work);
            } catch (RaceLost e) {
                failure = (SQLException) e.getCause();
            } catch (SQLException e) {
                if (!JdbcResultBackend.contended(e) || JdbcResultBackend.unreachable(e)) {
                    throw JdbcResultBackend.failed(what, e);
                }
                failure = e;
            }
            if (attempt == ATTEMPTS) {
                throw new ResultBackendUnavailableException(what + " failed: other transactions on the same chord "
                        + "kept it from committing " + ATTEMPTS + " times (" + failure.getMessage()
                        + "); it is safe to repeat", failure);
            }
            try {
                Thread.sleep(ThreadLocalRandom.current().nextLong(1, 5L << Math.min(attempt, 6)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ResultBackendUnavailableException(what + " was interrupted while waiting to run again",
                        failure);
            }
        }
    }

    private static <T extends @Nullable Object> T inTransaction(Connection c, Work<T> work) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        int isolation = c.getTransactionIsolation();
        if (isolation != Connection.TRANSACTION_READ_COMMITTED) {
            c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        }
        c.setAutoCommit(false);
        try {
            T out = work.run(c);
            c.commit();
            return out;
        } catch (SQLException | RuntimeException e) {
            // The first error says what went wrong; a rollback failing on a lost connection must not hide it.
            try {
                c.rollback();
            } catch (SQLException rollback) {
                e.addSuppressed(rollback);
            }
            throw e;
        } finally {
            // A pooled connection goes back as it came; one that cannot be reset is broken and the pool drops it.
            try {
                c.setAutoCommit(autoCommit);
                if (isolation != Connection.TRANSACTION_READ_COMMITTED) {
                    c.setTransactionIsolation(isolation);
                }
            } catch (SQLException ignored) {
                // closing it next
            }
        }
    }
}
