package io.celeriac.jdbc;

import io.celeriac.testing.MariaDbServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

import javax.sql.DataSource;

class MariaDbOutboxIT extends OutboxContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();

    @Override
    DataSource dataSource() {
        return MARIADB.freshDataSource();
    }
}
