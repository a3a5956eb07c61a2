package io.celeriac.jdbc;

import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class H2ScheduleStoreTest extends ScheduleStoreContract {
    @Override
    ScheduleStore store() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        return new JdbcScheduleStore(ds, clock);
    }

    @Test
    void migratesADatabaseThatAlreadyHoldsTheApplicationsTables() throws Exception {
        // A shared database: Flyway must not baseline past V1 (the beat tables) because the schema is not empty.
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        try (var c = ds.getConnection(); var s = c.createStatement()) {
            s.execute("CREATE TABLE app_orders (id INT PRIMARY KEY)");
        }
        JdbcScheduleStore s = new JdbcScheduleStore(ds, clock);
        ScheduleEntry e = ScheduleEntry.of("every", "t", IntervalSchedule.every(Duration.ofSeconds(5)));
        s.save(e);
        assertThat(s.entries()).containsExactly(e);
    }
}
