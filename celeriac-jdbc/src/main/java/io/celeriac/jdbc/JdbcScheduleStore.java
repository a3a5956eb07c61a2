package io.celeriac.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.celeriac.CeleriacException;
import io.celeriac.beat.ClockedSchedule;
import io.celeriac.beat.CrontabSchedule;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.Schedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.protocol.MessageCodec;
import org.flywaydb.core.Flyway;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Beat entries in a relational database (PostgreSQL, MariaDB/MySQL, H2), in tables shaped like django-celery-beat's
 * ({@code celeriac_beat_periodic_task} pointing at an interval, crontab or clocked row). The schema is created and
 * upgraded by Flyway ({@code db/celeriac}, {@code db/celeriac-mariadb}); the lease is one row taken with a conditional
 * UPDATE. It keeps a {@link DispatchLedger} (table {@code celeriac_dispatch_ledger}), so beat sends each due time once
 * on a broker that cannot do so by itself (RabbitMQ).
 */
public final class JdbcScheduleStore implements ScheduleStore, AutoCloseable {
    private static final String SELECT = "SELECT t.*, i.every, i.period, c.cron_minute, c.cron_hour, c.day_of_week, "
            + "c.day_of_month, c.month_of_year, c.timezone, k.clocked_time FROM celeriac_beat_periodic_task t "
            + "LEFT JOIN celeriac_beat_interval i ON t.interval_id = i.id "
            + "LEFT JOIN celeriac_beat_crontab c ON t.crontab_id = c.id "
            + "LEFT JOIN celeriac_beat_clocked k ON t.clocked_id = k.id";

    private final DataSource dataSource;
    private final MessageCodec json = new MessageCodec();
    private final Clock clock;
    private final @Nullable AutoCloseable owned;
    private final JdbcDispatchLedger ledger;

    /** Uses a data source the caller owns; runs the migrations. */
    public JdbcScheduleStore(DataSource dataSource, Clock clock) {
        this(dataSource, clock, null);
    }

    private JdbcScheduleStore(DataSource dataSource, Clock clock, @Nullable AutoCloseable owned) {
        this.dataSource = dataSource;
        this.clock = clock;
        this.owned = owned;
        migrate(dataSource);
        this.ledger = new JdbcDispatchLedger(dataSource, clock);
    }

    /** Opens a pooled connection to {@code jdbcUrl} (user and password may be null). */
    public static JdbcScheduleStore open(String jdbcUrl, String user, String password) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setUsername(user);
        hc.setPassword(password);
        hc.setMaximumPoolSize(4);
        hc.setPoolName("celeriac-beat-store");
        HikariDataSource ds = new HikariDataSource(hc);
        return new JdbcScheduleStore(ds, Clock.systemUTC(), ds);
    }

    /** Creates or upgrades Celeriac's tables (PostgreSQL and H2 share one script set; MariaDB/MySQL have theirs). */
    public static void migrate(DataSource ds) {
        String location = "classpath:db/celeriac";
        try (Connection c = ds.getConnection()) {
            String product = c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT);
            if (product.contains("mariadb") || product.contains("mysql")) {
                location = "classpath:db/celeriac-mariadb";
            }
        } catch (SQLException e) {
            throw failed("Connecting to run migrations", e);
        }
        // why baselineVersion 0: in a database that already holds the application's tables, Flyway's default
        // baseline (version 1) would mark V1 as applied without running it, and the beat tables would be missing.
        Flyway.configure().dataSource(ds).locations(location).table("celeriac_schema_history")
                .baselineOnMigrate(true).baselineVersion("0").load().migrate();
    }

    static CeleriacException failed(String what, SQLException e) {
        return new CeleriacException(what + " failed in the schedule database: " + e.getMessage(), e);
    }

    @Override
    public List<ScheduleEntry> entries() {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(SELECT + " ORDER BY t.name")) {
            List<ScheduleEntry> out = new ArrayList<>();
            while (rs.next()) {
                out.add(entry(rs));
            }
            return out;
        } catch (SQLException e) {
            throw failed("Listing entries", e);
        }
    }

    @Override
    public Optional<ScheduleEntry> entry(String name) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(SELECT + " WHERE t.name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(entry(rs)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failed("Reading entry " + name, e);
        }
    }

    @SuppressWarnings("unchecked")
    private ScheduleEntry entry(ResultSet rs) throws SQLException {
        Schedule schedule;
        if (rs.getObject("interval_id") != null) {
            long every = rs.getLong("every");
            String period = rs.getString("period");
            schedule = IntervalSchedule.every(period.equals("milliseconds") ? Duration.ofMillis(every)
                    : Duration.ofSeconds(every));
        } else if (rs.getObject("crontab_id") != null) {
            schedule = CrontabSchedule.of(rs.getString("cron_minute"), rs.getString("cron_hour"), rs.getString("day_of_week"),
                    rs.getString("day_of_month"), rs.getString("month_of_year"), ZoneId.of(rs.getString("timezone")));
        } else {
            schedule = new ClockedSchedule(instant(rs, "clocked_time"));
        }
        Object priority = rs.getObject("priority");
        Object expires = rs.getObject("expires_seconds");
        return new ScheduleEntry(rs.getString("name"), rs.getString("task"),
                (List<Object>) json.readJson(rs.getString("args")),
                (Map<String, Object>) json.readJson(rs.getString("kwargs")), schedule, rs.getString("queue"),
                priority == null ? null : ((Number) priority).intValue(),
                expires == null ? null : ((Number) expires).doubleValue(), rs.getBoolean("enabled"),
                rs.getBoolean("one_off"), instant(rs, "start_time"), instant(rs, "end_time"),
                rs.getBoolean("catch_up"));
    }

    static @Nullable Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    static void setInstant(PreparedStatement ps, int i, @Nullable Instant t) throws SQLException {
        if (t == null) {
            ps.setNull(i, Types.TIMESTAMP_WITH_TIMEZONE);
        } else {
            ps.setObject(i, t.atOffset(ZoneOffset.UTC));
        }
    }

    @Override
    public void save(ScheduleEntry e) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                long[] fks = insertSchedule(c, e.schedule());
                Long oldId = null;
                Long[] oldFks = null;
                try (PreparedStatement ps = c.prepareStatement("SELECT id, interval_id, crontab_id, clocked_id "
                        + "FROM celeriac_beat_periodic_task WHERE name = ? FOR UPDATE")) {
                    ps.setString(1, e.name());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            oldId = rs.getLong(1);
                            oldFks = new Long[] {rs.getObject(2, Long.class), rs.getObject(3, Long.class),
                                    rs.getObject(4, Long.class)};
                        }
                    }
                }
                String sql = oldId == null
                        ? "INSERT INTO celeriac_beat_periodic_task (task, args, kwargs, queue, priority, "
                        + "expires_seconds, enabled, one_off, catch_up, start_time, end_time, interval_id, "
                        + "crontab_id, clocked_id, date_changed, name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                        : "UPDATE celeriac_beat_periodic_task SET task=?, args=?, kwargs=?, queue=?, priority=?, "
                        + "expires_seconds=?, enabled=?, one_off=?, catch_up=?, start_time=?, end_time=?, "
                        + "interval_id=?, crontab_id=?, clocked_id=?, date_changed=? WHERE name=?";
                try (PreparedStatement ps = c.prepareStatement(sql)) {
                    ps.setString(1, e.task());
                    ps.setString(2, json.writeJson(e.args()));
                    ps.setString(3, json.writeJson(e.kwargs()));
                    ps.setString(4, e.queue());
                    ps.setObject(5, e.priority(), Types.INTEGER);
                    ps.setObject(6, e.expiresSeconds(), Types.DOUBLE);
                    ps.setBoolean(7, e.enabled());
                    ps.setBoolean(8, e.oneOff());
                    ps.setBoolean(9, e.catchUp());
                    setInstant(ps, 10, e.startTime());
                    setInstant(ps, 11, e.endTime());
                    for (int i = 0; i < 3; i++) {
                        ps.setObject(12 + i, fks[i] == 0 ? null : fks[i], Types.BIGINT);
                    }
                    setInstant(ps, 15, clock.instant());
                    ps.setString(16, e.name());
                    ps.executeUpdate();
                }
                if (oldFks != null) {
                    deleteSchedules(c, oldFks);
                }
                c.commit();
            } catch (SQLException ex) {
                c.rollback();
                throw ex;
            }
        } catch (SQLException ex) {
            throw failed("Saving entry " + e.name(), ex);
        }
    }

    /** Inserts the schedule row; returns {interval_id, crontab_id, clocked_id} with 0 for the unused ones. */
    private static long[] insertSchedule(Connection c, Schedule s) throws SQLException {
        long[] fks = new long[3];
        if (s instanceof IntervalSchedule i) {
            boolean wholeSeconds = i.every().toMillis() % 1000 == 0;
            fks[0] = insert(c, "INSERT INTO celeriac_beat_interval (every, period) VALUES (?, ?)",
                    wholeSeconds ? i.every().toSeconds() : i.every().toMillis(),
                    wholeSeconds ? "seconds" : "milliseconds");
        } else if (s instanceof CrontabSchedule t) {
            fks[1] = insert(c, "INSERT INTO celeriac_beat_crontab (cron_minute, cron_hour, day_of_week, day_of_month, "
                    + "month_of_year, timezone) VALUES (?, ?, ?, ?, ?, ?)", t.minute(), t.hour(), t.dayOfWeek(),
                    t.dayOfMonth(), t.monthOfYear(), t.zone().getId());
        } else if (s instanceof ClockedSchedule k) {
            fks[2] = insert(c, "INSERT INTO celeriac_beat_clocked (clocked_time) VALUES (?)",
                    k.at().atOffset(ZoneOffset.UTC));
        } else {
            throw new IllegalArgumentException("cannot store a " + s.getClass().getName());
        }
        return fks;
    }

    private static long insert(Connection c, String sql, Object... values) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql, Statement.RETURN_GENERATED_KEYS)) {
            for (int i = 0; i < values.length; i++) {
                ps.setObject(i + 1, values[i]);
            }
            ps.executeUpdate();
            try (ResultSet keys = ps.getGeneratedKeys()) {
                keys.next();
                return keys.getLong(1);
            }
        }
    }

    private static void deleteSchedules(Connection c, @Nullable Long[] fks) throws SQLException {
        String[] tables = {"celeriac_beat_interval", "celeriac_beat_crontab", "celeriac_beat_clocked"};
        for (int i = 0; i < 3; i++) {
            if (fks[i] != null) {
                try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + tables[i] + " WHERE id = ?")) {
                    ps.setLong(1, fks[i]);
                    ps.executeUpdate();
                }
            }
        }
    }

    @Override
    public boolean remove(String name) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            Long[] fks = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT interval_id, crontab_id, clocked_id FROM "
                    + "celeriac_beat_periodic_task WHERE name = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        fks = new Long[] {rs.getObject(1, Long.class), rs.getObject(2, Long.class),
                                rs.getObject(3, Long.class)};
                    }
                }
            }
            if (fks == null) {
                c.rollback();
                return false;
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM celeriac_beat_periodic_task WHERE name = ?")) {
                ps.setString(1, name);
                ps.executeUpdate();
            }
            deleteSchedules(c, fks);
            c.commit();
            return true;
        } catch (SQLException e) {
            throw failed("Removing entry " + name, e);
        }
    }

    @Override
    public EntryState state(String name) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT last_due, last_run_at, total_run_count FROM celeriac_beat_periodic_task WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new EntryState(instant(rs, "last_due"), instant(rs, "last_run_at"),
                        rs.getLong("total_run_count")) : EntryState.NEW;
            }
        } catch (SQLException e) {
            throw failed("Reading the state of " + name, e);
        }
    }

    @Override
    public void recordRun(String name, Instant due, Instant at, boolean sent) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE celeriac_beat_periodic_task SET last_due = ?, last_run_at = COALESCE(?, last_run_at), "
                        + "total_run_count = total_run_count + ? WHERE name = ?")) {
            setInstant(ps, 1, due);
            setInstant(ps, 2, sent ? at : null);
            ps.setLong(3, sent ? 1 : 0);
            ps.setString(4, name);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed("Recording a run of " + name, e);
        }
    }

    @Override
    public Optional<Long> lease(String holder, Duration ttl) {
        Instant now = clock.instant();
        try (Connection c = dataSource.getConnection()) {
            // One statement: renew our own lease, or take an expired one (new holder => next fencing token).
            try (PreparedStatement ps = c.prepareStatement("UPDATE celeriac_beat_lease SET "
                    + "token = CASE WHEN holder = ? AND expires_at > ? THEN token ELSE token + 1 END, "
                    + "holder = ?, expires_at = ? WHERE name = 'beat' AND (holder = ? OR holder IS NULL "
                    + "OR expires_at <= ?)")) {
                ps.setString(1, holder);
                setInstant(ps, 2, now);
                ps.setString(3, holder);
                setInstant(ps, 4, now.plus(ttl));
                ps.setString(5, holder);
                setInstant(ps, 6, now);
                if (ps.executeUpdate() == 0) {
                    return Optional.empty();
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT token FROM celeriac_beat_lease WHERE name = 'beat'");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Optional.of(rs.getLong(1));
            }
        } catch (SQLException e) {
            throw failed("Taking the beat lease", e);
        }
    }

    @Override
    public void release(String holder) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE celeriac_beat_lease SET holder = NULL WHERE name = 'beat' AND holder = ?")) {
            ps.setString(1, holder);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw failed("Releasing the beat lease", e);
        }
    }

    @Override
    public Optional<DispatchLedger> dispatchLedger() {
        return Optional.of(ledger);
    }

    @Override
    public void close() throws Exception {
        if (owned != null) {
            owned.close();
        }
    }

}
