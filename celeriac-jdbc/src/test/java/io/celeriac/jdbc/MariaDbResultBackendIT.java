package io.celeriac.jdbc;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.mariadb.jdbc.MariaDbDataSource;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

class MariaDbResultBackendIT extends ResultBackendContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();
    private static final AtomicInteger DB = new AtomicInteger();

    @Override
    JdbcResultBackend backend() {
        try {
            MariaDbDataSource ds = new MariaDbDataSource(MARIADB.jdbcUrl("results" + DB.incrementAndGet()));
            ds.setUser("root");
            return new JdbcResultBackend(ds, Duration.ofHours(1), clock);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
