package io.celeriac.jdbc;

import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.OutboundMessageCodec;
import io.celeriac.broker.PendingDispatch;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLIntegrityConstraintViolationException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The dispatch ledger in table {@code celeriac_dispatch_ledger} (migration V4), beside the schedule it serves: one row
 * per once key, the pending message in it until it is marked sent. Each write is one statement, so one transaction
 * of its own: {@link #record} is a single INSERT, and the primary key is what lets exactly one of any number of beats
 * record a key (the others get a unique-key violation, which is their "taken"). Times are on the store's clock, as the
 * lease's are.
 */
final class JdbcDispatchLedger implements DispatchLedger {
    private static final String TABLE = "celeriac_dispatch_ledger";

    private final DataSource dataSource;
    private final Clock clock;
    private final OutboundMessageCodec codec = new OutboundMessageCodec();

    JdbcDispatchLedger(DataSource dataSource, Clock clock) {
        this.dataSource = dataSource;
        this.clock = clock;
    }

    @Override
    public boolean record(String onceKey, Duration keep, OutboundMessage message) {
        String text = codec.encode(message);
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection()) {
            if (insert(c, onceKey, text, now, keep)) {
                return true;
            }
            // Taken: by a live key, or by one whose keep has passed and that no relay has purged yet. Only a
            // statement that deletes the expired row may try again, so of several callers one at most gets it.
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE
                    + " WHERE once_key = ? AND expires_at <= ?")) {
                ps.setString(1, onceKey);
                JdbcScheduleStore.setInstant(ps, 2, now);
                if (ps.executeUpdate() == 0) {
                    return false;
                }
            }
            return insert(c, onceKey, text, now, keep);
        } catch (SQLException e) {
            throw JdbcScheduleStore.failed("Recording dispatch " + onceKey, e);
        }
    }

    /** Inserts the row; false if the key is taken. */
    private static boolean insert(Connection c, String onceKey, String message, Instant now, Duration keep)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE
                + " (once_key, message, recorded_at, attempted_at, expires_at) VALUES (?, ?, ?, ?, ?)")) {
            ps.setString(1, onceKey);
            ps.setString(2, message);
            JdbcScheduleStore.setInstant(ps, 3, now);
            JdbcScheduleStore.setInstant(ps, 4, now);
            JdbcScheduleStore.setInstant(ps, 5, now.plus(keep));
            ps.executeUpdate();
            return true;
        } catch (SQLException e) {
            if (duplicateKey(e)) {
                return false;
            }
            throw e;
        }
    }

    /** A unique-key violation: SQLSTATE 23505 on PostgreSQL and H2, 23000 (error 1062) on MariaDB and MySQL. */
    private static boolean duplicateKey(SQLException e) {
        return e instanceof SQLIntegrityConstraintViolationException
                || e.getSQLState() != null && e.getSQLState().startsWith("23");
    }

    @Override
    public void markSent(String onceKey) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE
                + " SET message = NULL, attempted_at = NULL WHERE once_key = ?")) {
            ps.setString(1, onceKey);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw JdbcScheduleStore.failed("Marking dispatch " + onceKey + " sent", e);
        }
    }

    @Override
    public List<PendingDispatch> claimPending(Duration idleFor, int max) {
        Instant now = clock.instant();
        Instant cutoff = now.minus(idleFor);
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE + " WHERE expires_at <= ?")) {
                JdbcScheduleStore.setInstant(ps, 1, now);
                ps.executeUpdate();
            }
            List<PendingDispatch> candidates = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT once_key, message, recorded_at FROM " + TABLE
                    + " WHERE message IS NOT NULL AND attempted_at <= ? ORDER BY attempted_at, once_key LIMIT ?")) {
                JdbcScheduleStore.setInstant(ps, 1, cutoff);
                ps.setInt(2, max);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        candidates.add(new PendingDispatch(rs.getString(1), codec.decode(rs.getString(2)),
                                JdbcScheduleStore.instant(rs, "recorded_at")));
                    }
                }
            }
            // Claimed one by one with the condition it was selected on: of two claimers, the one whose UPDATE comes
            // second finds attempted_at moved on (databases re-check a row's condition after waiting for its lock).
            List<PendingDispatch> claimed = new ArrayList<>(candidates.size());
            try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE + " SET attempted_at = ? "
                    + "WHERE once_key = ? AND message IS NOT NULL AND attempted_at <= ?")) {
                for (PendingDispatch p : candidates) {
                    JdbcScheduleStore.setInstant(ps, 1, now);
                    ps.setString(2, p.onceKey());
                    JdbcScheduleStore.setInstant(ps, 3, cutoff);
                    if (ps.executeUpdate() == 1) {
                        claimed.add(p);
                    }
                }
            }
            return claimed;
        } catch (SQLException e) {
            throw JdbcScheduleStore.failed("Claiming pending dispatches", e);
        }
    }

    @Override
    public void forget(String onceKey) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM " + TABLE + " WHERE once_key = ?")) {
            ps.setString(1, onceKey);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw JdbcScheduleStore.failed("Forgetting dispatch " + onceKey, e);
        }
    }
}
