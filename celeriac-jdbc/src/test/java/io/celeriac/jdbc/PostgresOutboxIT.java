package io.celeriac.jdbc;

import io.celeriac.testing.PostgresServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

import javax.sql.DataSource;

class PostgresOutboxIT extends OutboxContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    DataSource dataSource() {
        return POSTGRES.freshDataSource();
    }
}
