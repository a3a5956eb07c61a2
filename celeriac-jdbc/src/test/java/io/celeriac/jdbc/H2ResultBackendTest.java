package io.celeriac.jdbc;

import org.h2.jdbcx.JdbcDataSource;

import java.time.Duration;
import java.util.UUID;

class H2ResultBackendTest extends ResultBackendContract {
    @Override
    JdbcResultBackend backend() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        return new JdbcResultBackend(ds, Duration.ofHours(1), clock);
    }
}
