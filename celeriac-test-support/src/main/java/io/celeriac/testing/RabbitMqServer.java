package io.celeriac.testing;

import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts a private RabbitMQ node (Debian's {@code rabbitmq-server}) for a test class, and lets tests stop, kill and
 * restart it on the same ports and data, to prove reconnection and durability. Use with
 * {@code @RegisterExtension static RabbitMqServer RABBIT = new RabbitMqServer();}, or call {@link #start()} by hand
 * where JUnit extensions do not run (jqwik properties).
 *
 * <p>The node shares nothing with a RabbitMQ service the machine may run: its own name
 * ({@code celeriac-test-<port>@localhost}), AMQP listener and Erlang distribution port (free loopback ports), and its
 * own config, enabled-plugins (none: no management listener), database, log and Erlang cookie under a temporary
 * directory; {@code /etc/rabbitmq/rabbitmq-env.conf} is not read. The one thing shared is epmd, Erlang's port
 * mapper on 4369, where each node registers under its own name: a node only looks itself up there, and a system
 * service's epmd serves any number of nodes. (Where none runs, the first node starts one, which outlives the tests,
 * as it would after running any Erlang program.)
 *
 * <p>The Debian wrapper {@code /usr/sbin/rabbitmq-server} switches to the {@code rabbitmq} user when run as root,
 * with that user's home and directories; so the package's own start script in {@code /usr/lib/rabbitmq/bin} is run
 * directly, as the user running the tests.
 */
public final class RabbitMqServer implements BeforeAllCallback, AfterAllCallback {
    private static final Path WRAPPER = Path.of("/usr/sbin/rabbitmq-server");
    private static final Path SCRIPT = Path.of("/usr/lib/rabbitmq/bin/rabbitmq-server");
    private static final long START_SECONDS = 90;
    private static final Path CLI_DIR = Path.of("/usr/lib/rabbitmq/bin");

    /** The Erlang cookie shared by the nodes of one cluster ({@link RabbitMqCluster}); null: the node makes its own. */
    private final @Nullable String cookie;
    private int port;
    private int distPort;
    private @Nullable Path dir;
    private @Nullable Process process;

    public RabbitMqServer() {
        this(null);
    }

    RabbitMqServer(@Nullable String cookie) {
        this.cookie = cookie;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        close();
    }

    /** Kills the node and deletes its directory (a failed start put the log's tail in its exception). */
    public synchronized void close() throws IOException, InterruptedException {
        kill();
        if (dir != null) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            dir = null;
        }
    }

    public int port() {
        return port;
    }

    /** {@code amqp://guest:guest@127.0.0.1:<port>/} (guest may log in over loopback, RabbitMQ's default). */
    public String url() {
        return "amqp://guest:guest@127.0.0.1:" + port + "/";
    }

    /** The node's name, as {@code rabbitmqctl -n} takes it. */
    public String nodeName() {
        return "celeriac-test-" + port + "@localhost";
    }

    /**
     * Starts the node (again, on the same ports and database) and waits until it accepts AMQP connections. A node
     * restarted after a kill recovers its durable queues and persistent messages first.
     */
    public synchronized void start() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            return;
        }
        if (!Files.isExecutable(WRAPPER) || !Files.isExecutable(SCRIPT)) {
            throw new IllegalStateException("rabbitmq-server is not installed: apt-get install rabbitmq-server "
                    + "(the Debian package; the AMQP tests start their own node)");
        }
        if (dir == null) {
            port = freePort();
            distPort = freePort();
            dir = Files.createTempDirectory("celeriac-rabbitmq");
            Files.createDirectories(dir.resolve("home"));
            if (cookie != null) {
                // Nodes of one cluster, and the CLI tools talking to them, must hold the same cookie.
                Path c = dir.resolve("home").resolve(".erlang.cookie");
                Files.writeString(c, cookie, StandardCharsets.US_ASCII);
                Files.setPosixFilePermissions(c, java.nio.file.attribute.PosixFilePermissions.fromString("r--------"));
            }
            Files.createDirectories(dir.resolve("mnesia"));
            Files.createDirectories(dir.resolve("log"));
            Files.writeString(dir.resolve("rabbitmq.conf"), String.join("\n",
                    "listeners.tcp.1 = 127.0.0.1:" + port,
                    // Tests fill queues fast; the defaults would throttle publishers on a small CI disk or memory.
                    "disk_free_limit.absolute = 50MB",
                    "vm_memory_high_watermark.relative = 0.8",
                    ""), StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("enabled_plugins"), "[].\n", StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("rabbitmq-env.conf"), "", StandardCharsets.UTF_8);
        }
        SystemTools.require(SCRIPT.toString(), "rabbitmq-server");
        ProcessBuilder pb = new ProcessBuilder(SCRIPT.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("RABBITMQ_") || k.startsWith("ERL_"));
        env.put("HOME", dir.resolve("home").toString());
        env.put("RABBITMQ_CONF_ENV_FILE", dir.resolve("rabbitmq-env.conf").toString());
        env.put("RABBITMQ_NODENAME", nodeName());
        env.put("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
        env.put("RABBITMQ_NODE_PORT", Integer.toString(port));
        env.put("RABBITMQ_DIST_PORT", Integer.toString(distPort));
        env.put("RABBITMQ_CONFIG_FILE", dir.resolve("rabbitmq.conf").toString());
        env.put("RABBITMQ_ADVANCED_CONFIG_FILE", dir.resolve("advanced.config").toString());
        env.put("RABBITMQ_ENABLED_PLUGINS_FILE", dir.resolve("enabled_plugins").toString());
        env.put("RABBITMQ_MNESIA_BASE", dir.resolve("mnesia").toString());
        env.put("RABBITMQ_LOG_BASE", dir.resolve("log").toString());
        env.put("RABBITMQ_LOGS", "-");
        env.put("ERL_EPMD_ADDRESS", "127.0.0.1");
        env.put("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}");
        process = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        while (!acceptsAmqp()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String tail = tail(20);
                kill();
                throw new IllegalStateException("RabbitMQ node " + nodeName() + " did not start on port " + port
                        + "; log " + log() + ":\n" + tail);
            }
            Thread.sleep(100);
        }
    }

    /**
     * Runs a RabbitMQ CLI tool ({@code rabbitmqctl}, {@code rabbitmq-queues}) against this node, as the user running
     * the tests with the node's cookie (the {@code /usr/sbin} wrappers would switch to the {@code rabbitmq} user);
     * returns its output, or throws with it if the tool failed.
     */
    public String cli(String tool, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(CLI_DIR.resolve(tool).toString(), "-n", nodeName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("RABBITMQ_") || k.startsWith("ERL_"));
        env.put("HOME", dir.resolve("home").toString());
        env.put("RABBITMQ_CONF_ENV_FILE", dir.resolve("rabbitmq-env.conf").toString());
        env.put("ERL_EPMD_ADDRESS", "127.0.0.1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(tool + " " + String.join(" ", args) + " on " + nodeName() + " failed:\n"
                    + out);
        }
        return out;
    }

    /** Whether the node's process runs (it may not be booted yet). */
    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** Whether the node completes an AMQP handshake (its listener opens before the node is fully booted). */
    public boolean acceptsAmqp() {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(port);
        f.setConnectionTimeout(1000);
        f.setHandshakeTimeout(2000);
        f.setAutomaticRecoveryEnabled(false);
        try (Connection c = f.newConnection("celeriac-test-probe")) {
            c.createChannel().close();
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /** Stops the node as {@code SIGTERM} does: RabbitMQ closes client connections and shuts down cleanly. */
    public synchronized void stop() throws InterruptedException {
        end(false);
    }

    /** Kills the node ({@code SIGKILL}): no goodbye to clients, no clean shutdown of its database. */
    public synchronized void kill() throws InterruptedException {
        end(true);
    }

    /** Kills or stops the node, then starts it again on the same ports and data. */
    public synchronized void restart(boolean kill) throws IOException, InterruptedException {
        end(kill);
        start();
    }

    private void end(boolean kill) throws InterruptedException {
        if (process == null) {
            return;
        }
        // The start script runs the Erlang VM (beam.smp) as its child, which has children of its own.
        List<ProcessHandle> all = Stream.concat(process.descendants(), Stream.of(process.toHandle())).toList();
        for (ProcessHandle h : all) {
            if (kill) {
                h.destroyForcibly();
            } else if (h.info().command().orElse("").endsWith("beam.smp")) {
                // SIGTERM to the VM alone: it stops its helpers itself, after closing client connections.
                h.destroy();
            }
        }
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                h.destroyForcibly();
            }
        }
        process = null;
    }

    private Path log() {
        return dir.resolve("rabbitmq.log");
    }

    private String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log());
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
