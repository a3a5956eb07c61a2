package io.celeriac.testing;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts a private {@code redis-server} on a free loopback port for a test class, and lets tests stop and restart
 * it (same port, same data directory) to prove reconnection. Use with
 * {@code @RegisterExtension static RedisServerExtension REDIS = new RedisServerExtension();}.
 *
 * <p>By default the server persists nothing, so a restart comes back empty. {@link #withAppendOnlyFile()} gives a
 * server whose restarts keep every write it acknowledged.
 */
public final class RedisServerExtension implements BeforeAllCallback, AfterAllCallback {
    private final boolean appendOnly;
    private int port;
    private @Nullable Path dir;
    private @Nullable Process process;

    /** A server without persistence: {@link #stop()} loses every key. */
    public RedisServerExtension() {
        this(false);
    }

    private RedisServerExtension(boolean appendOnly) {
        this.appendOnly = appendOnly;
    }

    /**
     * A server that appends every write to its append-only file and fsyncs it before answering
     * ({@code --appendonly yes --appendfsync always}). {@link #stop()} is still SIGKILL, and {@link #start()} replays
     * the file from the same directory: what a client saw acknowledged is there after the restart, as on a production
     * Redis configured for durability. (With {@code everysec}, a kill could drop the last second of acknowledged
     * writes, and a fault test could not tell that loss from a broker bug.)
     */
    public static RedisServerExtension withAppendOnlyFile() {
        return new RedisServerExtension(true);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        port = freePort();
        dir = Files.createTempDirectory("celeriac-redis");
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
        if (appendOnly) {
            // The append-only files of a busy test run to megabytes; the log stays for a look after a failure.
            deleteRecursively(dir.resolve("appendonlydir"));
        }
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    public int port() {
        return port;
    }

    /** {@code redis://127.0.0.1:<port>/<db>}. */
    public String url(int db) {
        return "redis://127.0.0.1:" + port + "/" + db;
    }

    /**
     * Starts the server (again) on the same port and data directory and waits until it answers PING (a server still
     * loading its append-only file answers {@code -LOADING}, so this also waits for the replay).
     */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            return;
        }
        SystemTools.require("redis-server", "redis-server");
        List<String> command = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--save", "", "--dir", dir.toString()));
        if (appendOnly) {
            command.addAll(List.of("--appendonly", "yes", "--appendfsync", "always"));
        } else {
            command.addAll(List.of("--appendonly", "no"));
        }
        process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                // Appended, so the log of every run of the server survives its restarts.
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!answersPing(port)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not start on port " + port + "; see "
                        + dir.resolve("redis.log") + " (is redis-server installed?)");
            }
            Thread.sleep(20);
        }
    }

    /** Kills the server (SIGKILL: no goodbye to clients) and waits for it to be gone. */
    public synchronized void stop() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            process = null;
        }
    }

    /**
     * Whether a server on loopback {@code port} answers PING with PONG: it is up and has finished loading its data
     * (while loading, Redis accepts connections but answers {@code -LOADING}).
     */
    public static boolean answersPing(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[7];
            int n = in.read(buf);
            return n > 0 && new String(buf, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The server's log file, for failure messages. */
    public File log() {
        return dir.resolve("redis.log").toFile();
    }
}
