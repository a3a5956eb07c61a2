package io.celeriac.jdbc;

import io.celeriac.testing.MariaDbServerExtension;
import io.celeriac.beat.ScheduleStore;
import org.junit.jupiter.api.extension.RegisterExtension;

class MariaDbScheduleStoreIT extends ScheduleStoreContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();

    @Override
    ScheduleStore store() {
        return new JdbcScheduleStore(MARIADB.freshDataSource(), clock);
    }
}
