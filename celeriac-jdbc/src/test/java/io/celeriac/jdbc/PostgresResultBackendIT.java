package io.celeriac.jdbc;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;

class PostgresResultBackendIT extends ResultBackendContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @Override
    JdbcResultBackend backend() {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(POSTGRES.jdbcUrl());
        ds.setUser("postgres");
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return new JdbcResultBackend(ds, Duration.ofHours(1), clock);
    }
}
