package io.celeriac.jdbc;

import io.celeriac.beat.ScheduleStore;
import org.h2.jdbcx.JdbcDataSource;

import java.util.UUID;

class H2ScheduleStoreTest extends ScheduleStoreContract {
    @Override
    ScheduleStore store() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        return new JdbcScheduleStore(ds, clock);
    }
}
