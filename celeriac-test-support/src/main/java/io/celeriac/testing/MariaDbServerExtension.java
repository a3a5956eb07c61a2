package io.celeriac.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.File;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A private MariaDB server for a test class: mariadb-install-db into a temp dir, mariadbd on a free port. */
public final class MariaDbServerExtension implements BeforeAllCallback, AfterAllCallback {
    private Path dir;
    private int port;
    private Process server;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        dir = Files.createTempDirectory("celeriac-mariadb");
        boolean root = "root".equals(System.getProperty("user.name"));
        SystemTools.require("mariadb-install-db", "mariadb-server");
        List<String> install = new ArrayList<>(List.of("mariadb-install-db", "--no-defaults", "--datadir="
                + dir.resolve("data"), "--auth-root-authentication-method=normal", "--skip-test-db"));
        if (root) {
            install.add("--user=root");
        }
        Process p = new ProcessBuilder(install).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("mariadb-install-db failed (apt-get install mariadb-server):\n" + out);
        }
        List<String> cmd = new ArrayList<>(List.of("mariadbd", "--no-defaults", "--datadir=" + dir.resolve("data"),
                "--port=" + port, "--bind-address=127.0.0.1", "--socket=" + dir.resolve("mysqld.sock"),
                "--skip-grant-tables", "--default-time-zone=+00:00", "--skip-log-bin"));
        if (root) {
            cmd.add("--user=root");
        }
        server = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile())
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                break;
            } catch (java.io.IOException e) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("mariadbd did not start; see " + dir.resolve("server.log"));
                }
                Thread.sleep(100);
            }
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        server.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }

    private final java.util.concurrent.atomic.AtomicInteger databases = new java.util.concurrent.atomic.AtomicInteger();

    /** A data source on a new, empty database: each test starts from nothing. */
    public javax.sql.DataSource freshDataSource() {
        try {
            org.mariadb.jdbc.MariaDbDataSource ds = new org.mariadb.jdbc.MariaDbDataSource(
                    jdbcUrl("celeriac" + databases.incrementAndGet()));
            ds.setUser("root");
            return ds;
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JDBC URL for a fresh database of this name (created on first use). */
    public String jdbcUrl(String database) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + database + "?createDatabaseIfNotExist=true";
    }
}
