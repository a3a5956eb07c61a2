package io.celeriac.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;

/**
 * What differs between the databases Celeriac keeps its tables in (PostgreSQL, MariaDB or MySQL, H2), one class per
 * database so that each quirk lives in its own place rather than in {@code if}s: which migration scripts to run, and
 * how to write an upsert. Everything else Celeriac writes is plain SQL that all three accept.
 *
 * <p>Public for Celeriac's other modules (the dashboard's task history); not meant to be implemented elsewhere.
 */
public sealed interface JdbcDialect permits JdbcDialect.PostgreSql, JdbcDialect.MariaDb, JdbcDialect.H2 {

    /** The dialect of the database {@code c} is connected to, by its product name. */
    static JdbcDialect of(Connection c) throws SQLException {
        String product = c.getMetaData().getDatabaseProductName();
        String p = product.toLowerCase(Locale.ROOT);
        if (p.contains("postgresql")) {
            return new PostgreSql();
        }
        if (p.contains("mariadb") || p.contains("mysql")) {
            return new MariaDb();
        }
        if (p.equals("h2")) {
            return new H2();
        }
        throw new IllegalArgumentException("Celeriac keeps its tables in PostgreSQL, MariaDB/MySQL or H2, not in "
                + product);
    }

    /** A short name, as in log lines ({@code postgresql}, {@code mariadb}, {@code h2}). */
    String name();

    /**
     * The Flyway location of a script set: {@code base} itself for PostgreSQL and H2, which share scripts, and
     * {@code base + "-mariadb"} for MariaDB and MySQL (no {@code TIMESTAMP WITH TIME ZONE}, {@code LONGTEXT} for
     * long text).
     */
    String migrations(String base);

    /**
     * One row's insert that, when a row with the same {@code keys} exists, updates only the {@code updated}
     * columns of it instead, atomically (no unique-key error between two writers). Parameters are {@code columns} in
     * order, keys included.
     */
    String upsert(String table, List<String> keys, List<String> columns, List<String> updated);

    private static String params(int n) {
        return String.join(", ", java.util.Collections.nCopies(n, "?"));
    }

    /** PostgreSQL: {@code INSERT ... ON CONFLICT (keys) DO UPDATE}. */
    final class PostgreSql implements JdbcDialect {
        @Override
        public String name() {
            return "postgresql";
        }

        @Override
        public String migrations(String base) {
            return base;
        }

        @Override
        public String upsert(String table, List<String> keys, List<String> columns, List<String> updated) {
            return "INSERT INTO " + table + " (" + String.join(", ", columns) + ") VALUES (" + params(columns.size())
                    + ") ON CONFLICT (" + String.join(", ", keys) + ") DO UPDATE SET "
                    + String.join(", ", updated.stream().map(c -> c + " = EXCLUDED." + c).toList());
        }
    }

    /** MariaDB and MySQL: {@code INSERT ... ON DUPLICATE KEY UPDATE}; their own scripts. */
    final class MariaDb implements JdbcDialect {
        @Override
        public String name() {
            return "mariadb";
        }

        @Override
        public String migrations(String base) {
            return base + "-mariadb";
        }

        @Override
        public String upsert(String table, List<String> keys, List<String> columns, List<String> updated) {
            // VALUES(c) rather than MySQL 8's row alias: MariaDB has no row alias.
            return "INSERT INTO " + table + " (" + String.join(", ", columns) + ") VALUES (" + params(columns.size())
                    + ") ON DUPLICATE KEY UPDATE "
                    + String.join(", ", updated.stream().map(c -> c + " = VALUES(" + c + ")").toList());
        }
    }

    /**
     * H2: the SQL standard's {@code MERGE ... USING}, since H2 accepts {@code ON CONFLICT} and
     * {@code ON DUPLICATE KEY} only in the compatibility modes of the databases they come from (and its own
     * {@code MERGE ... KEY} replaces every column).
     */
    final class H2 implements JdbcDialect {
        @Override
        public String name() {
            return "h2";
        }

        @Override
        public String migrations(String base) {
            return base;
        }

        @Override
        public String upsert(String table, List<String> keys, List<String> columns, List<String> updated) {
            return "MERGE INTO " + table + " t USING (VALUES (" + params(columns.size()) + ")) s("
                    + String.join(", ", columns) + ") ON "
                    + String.join(" AND ", keys.stream().map(k -> "t." + k + " = s." + k).toList())
                    + " WHEN MATCHED THEN UPDATE SET "
                    + String.join(", ", updated.stream().map(c -> c + " = s." + c).toList())
                    + " WHEN NOT MATCHED THEN INSERT (" + String.join(", ", columns) + ") VALUES ("
                    + String.join(", ", columns.stream().map(c -> "s." + c).toList()) + ")";
        }
    }
}
