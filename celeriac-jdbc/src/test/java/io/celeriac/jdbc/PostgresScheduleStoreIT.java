package io.celeriac.jdbc;

import io.celeriac.beat.ScheduleStore;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

import java.sql.Connection;
import java.sql.Statement;

class PostgresScheduleStoreIT extends ScheduleStoreContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    ScheduleStore store() {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(POSTGRES.jdbcUrl());
        ds.setUser("postgres");
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            // A fresh schema per test.
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return new JdbcScheduleStore(ds, clock);
    }
}
