package io.celeriac.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private PostgreSQL cluster for a test class: {@code initdb} into a temporary directory and {@code pg_ctl start}
 * on a free loopback port, trust authentication. When the tests run as root (CI), the server runs as the
 * {@code postgres} user, since PostgreSQL refuses to run as root. Tests can {@link #stop()} it as a crash would and
 * {@link #start()} it again on the same port and data.
 */
public final class PostgresServerExtension implements BeforeAllCallback, AfterAllCallback {
    private Path dir;
    private Path bin;
    private int port;
    private boolean asPostgres;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        bin = findBin();
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        dir = Files.createTempDirectory("celeriac-pg");
        asPostgres = "root".equals(System.getProperty("user.name"));
        if (asPostgres) {
            run(List.of("chown", "-R", "postgres:postgres", dir.toString()), false);
        }
        run(List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust", "-U",
                "postgres", "--no-sync", "-E", "UTF8"), asPostgres);
        start();
    }

    /**
     * Starts the server (again) on the same port and data directory, and returns once it accepts connections (after
     * a {@link #stop()}, once it has recovered from its write-ahead log).
     */
    public synchronized void start() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l",
                dir.resolve("pg.log").toString(), "-w", "-o", "-p " + port + " -c listen_addresses=127.0.0.1 -k "
                        + dir + " -c fsync=off", "start"), asPostgres);
    }

    /**
     * Stops the server as a crash would ({@code pg_ctl stop -m immediate}: every backend quits at once, open
     * transactions are lost, no checkpoint), and returns once it is down. What was committed is there after
     * {@link #start()}.
     */
    public synchronized void stop() throws IOException, InterruptedException {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate",
                "-w", "stop"), asPostgres);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (Files.exists(dir.resolve("data").resolve("postmaster.pid"))) {
            stop();
        }
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** A data source on an emptied {@code public} schema: each test starts from nothing. */
    public javax.sql.DataSource freshDataSource() {
        org.postgresql.ds.PGSimpleDataSource ds = new org.postgresql.ds.PGSimpleDataSource();
        ds.setUrl(jdbcUrl());
        ds.setUser("postgres");
        try (java.sql.Connection c = ds.getConnection(); java.sql.Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
        return ds;
    }

    private static Path findBin() {
        File[] versions = new File("/usr/lib/postgresql").listFiles();
        if (versions == null || versions.length == 0) {
            throw new IllegalStateException("PostgreSQL server binaries not found under /usr/lib/postgresql "
                    + "(apt-get install postgresql)");
        }
        Arrays.sort(versions);
        return versions[versions.length - 1].toPath().resolve("bin");
    }

    private static void run(List<String> command, boolean asPostgres) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asPostgres) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("failed: " + String.join(" ", cmd) + "\n" + out);
        }
    }
}
