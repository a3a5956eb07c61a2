package io.celeriac.jdbc;

import io.celeriac.testing.MariaDbServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;

class MariaDbResultBackendIT extends ResultBackendContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();

    @Override
    JdbcResultBackend backend() {
        return new JdbcResultBackend(MARIADB.freshDataSource(), Duration.ofHours(1), clock);
    }
}
