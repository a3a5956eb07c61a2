package io.celeriac.jdbc;

import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.beat.ScheduleStore;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresScheduleStoreIT extends ScheduleStoreContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    ScheduleStore store() {
        return new JdbcScheduleStore(POSTGRES.freshDataSource(), clock);
    }
}
