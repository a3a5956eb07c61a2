package io.celeriac.jdbc;

import io.celeriac.testing.PostgresServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;

class PostgresResultBackendIT extends ResultBackendContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    JdbcResultBackend backend() {
        return new JdbcResultBackend(POSTGRES.freshDataSource(), Duration.ofHours(1), clock);
    }
}
