package io.celeriac.jdbc;

import io.celeriac.beat.ScheduleStore;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.mariadb.jdbc.MariaDbDataSource;

import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;

class MariaDbScheduleStoreIT extends ScheduleStoreContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();
    private static final AtomicInteger DB = new AtomicInteger();

    @Override
    ScheduleStore store() {
        try {
            MariaDbDataSource ds = new MariaDbDataSource(MARIADB.jdbcUrl("beat" + DB.incrementAndGet()));
            ds.setUser("root");
            return new JdbcScheduleStore(ds, clock);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
