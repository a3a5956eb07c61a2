package io.celeriac.dashboard;

import io.celeriac.testing.PostgresServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresHistoryStoreIT extends HistoryStoreContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    HistoryStore newStore() {
        // An emptied schema, through a plain data source; the restarted one opens its own pool.
        return new JdbcHistoryStore(POSTGRES.freshDataSource());
    }

    @Override
    HistoryStore reopen() {
        return JdbcHistoryStore.open(POSTGRES.jdbcUrl(), "postgres", null);
    }
}
