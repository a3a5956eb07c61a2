package io.celeriac.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A Sentinel-managed Redis of its own for a test: one master, {@code replicas} replicas and three sentinels, each a
 * {@code redis-server} process on a free loopback port, so a test can SIGKILL the master and watch Sentinel promote
 * a replica. Sentinels judge a server down after {@link #DOWN_AFTER_MS} (production uses seconds to tens of seconds;
 * a short one keeps failover tests short without changing what happens).
 */
public final class RedisSentinelSet implements AutoCloseable {
    public static final String MASTER = "mymaster";
    public static final int DOWN_AFTER_MS = 1000;

    private final Path dir;
    /** Data servers by port: the first is the initial master. */
    private final Map<Integer, Process> servers = new LinkedHashMap<>();
    private final Map<Integer, Process> sentinels = new LinkedHashMap<>();
    private final RedisClient admin = RedisClient.create();

    private RedisSentinelSet(Path dir) {
        this.dir = dir;
    }

    /** Starts the set and waits until every sentinel knows the master and its replicas. */
    public static RedisSentinelSet start(int replicas) throws Exception {
        RedisSentinelSet set = new RedisSentinelSet(Files.createTempDirectory("celeriac-sentinel"));
        try {
            set.boot(replicas);
        } catch (Exception | Error e) {
            set.close();
            throw e;
        }
        return set;
    }

    private void boot(int replicas) throws Exception {
        SystemTools.require("redis-server", "redis-server");
        int master = freePort();
        startServer(master, null);
        for (int i = 0; i < replicas; i++) {
            startServer(freePort(), master);
        }
        for (int i = 0; i < 3; i++) {
            int port = freePort();
            Path conf = dir.resolve("sentinel-" + port + ".conf");
            Files.writeString(conf, String.join("\n",
                    "port " + port,
                    "bind 127.0.0.1",
                    "dir " + dir,
                    "sentinel monitor " + MASTER + " 127.0.0.1 " + master + " 2",
                    "sentinel down-after-milliseconds " + MASTER + " " + DOWN_AFTER_MS,
                    "sentinel failover-timeout " + MASTER + " 10000",
                    "sentinel parallel-syncs " + MASTER + " 1", ""));
            sentinels.put(port, launch(List.of("redis-server", conf.toString(), "--sentinel"),
                    "sentinel-" + port + ".log"));
            awaitPing(port);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // A replica counts once its first sync is done: before that, WAIT cannot count it and a failover to it
        // would lose everything.
        for (int port : servers.keySet()) {
            if (port == master) {
                continue;
            }
            while (!info(port).contains("master_link_status:up")) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("replica " + port + " did not sync; see " + dir);
                }
                Thread.sleep(50);
            }
        }
        for (int port : sentinels.keySet()) {
            while (sentinel(port, s -> s.replicas(MASTER).stream()
                    .filter(r -> !r.getOrDefault("flags", "").contains("down")).count()) < replicas
                    || sentinel(port, s -> Integer.parseInt(s.master(MASTER).get("num-other-sentinels"))) < 2) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("sentinels did not discover the set; see " + dir);
                }
                Thread.sleep(100);
            }
        }
    }

    private void startServer(int port, @Nullable Integer replicaOf) throws Exception {
        List<String> command = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
                "--dbfilename", "dump-" + port + ".rdb",
                // A replica's first sync would wait 5 s for others to share it; nothing is gained by that here.
                "--repl-diskless-sync-delay", "0"));
        if (replicaOf != null) {
            command.addAll(List.of("--replicaof", "127.0.0.1", Integer.toString(replicaOf)));
        }
        servers.put(port, launch(command, "redis-" + port + ".log"));
        awaitPing(port);
    }

    private Process launch(List<String> command, String log) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile())).start();
    }

    private static void awaitPing(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!RedisServerExtension.answersPing(port)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not start on port " + port);
            }
            Thread.sleep(20);
        }
    }

    private <T> T sentinel(int port, Function<io.lettuce.core.sentinel.api.sync.RedisSentinelCommands<String, String>, T> f) {
        try (StatefulRedisSentinelConnection<String, String> c =
                     admin.connectSentinel(RedisURI.create("redis://127.0.0.1:" + port))) {
            return f.apply(c.sync());
        }
    }

    /**
     * {@code sentinel://127.0.0.1:<p1>;sentinel://127.0.0.1:<p2>;sentinel://127.0.0.1:<p3>/<db>}, as Celery writes a
     * Sentinel broker URL; the master's name comes separately ({@link #MASTER}).
     */
    public String celeryUrl(int db) {
        StringBuilder s = new StringBuilder();
        for (int port : sentinels.keySet()) {
            s.append(s.length() == 0 ? "" : ";").append("sentinel://127.0.0.1:").append(port);
        }
        return s.append('/').append(db).toString();
    }

    /** {@link #celeryUrl} with the master's name in the query. */
    public String url(int db) {
        return celeryUrl(db) + "?master_name=" + MASTER;
    }

    /** The current master's port, as a majority of live sentinels would answer. */
    public int masterPort() {
        for (int port : sentinels.keySet()) {
            try {
                SocketAddress a = sentinel(port, s -> s.getMasterAddrByName(MASTER));
                return ((InetSocketAddress) a).getPort();
            } catch (RuntimeException e) {
                // try the next sentinel
            }
        }
        throw new IllegalStateException("no sentinel answered");
    }

    /** {@code INFO replication} of one data server. */
    public String info(int port) {
        try (StatefulRedisConnection<String, String> c = connect(port)) {
            return c.sync().info("replication");
        }
    }

    /** A direct connection to one data server (not through the sentinels), for checks. */
    public StatefulRedisConnection<String, String> connect(int port) {
        return admin.connect(RedisURI.create("redis://127.0.0.1:" + port));
    }

    /** SIGKILLs the current master (no goodbye to clients, no last replication) and returns its port. */
    public int killMaster() throws InterruptedException {
        int port = masterPort();
        Process p = servers.get(port);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        return port;
    }

    /** Starts a killed server again on its port; the sentinels turn it into a replica of the current master. */
    public void restart(int port) throws Exception {
        startServer(port, masterPort());
    }

    /** Asks the sentinels for a failover without a fault: the master is demoted to a replica. */
    public void failover() {
        sentinel(sentinels.keySet().iterator().next(), s -> s.failover(MASTER));
    }

    /** Waits until the sentinels name a master other than {@code oldPort} and it accepts writes. */
    public int awaitMasterOtherThan(int oldPort, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline) {
            try {
                int now = masterPort();
                if (now != oldPort) {
                    if (info(now).contains("role:master")) {
                        return now;
                    }
                }
            } catch (RuntimeException e) {
                // a sentinel or the new master is not answering yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("no new master within " + timeoutSeconds + " s; see " + dir);
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        admin.shutdown();
        for (Process p : sentinels.values()) {
            p.destroyForcibly();
        }
        for (Process p : servers.values()) {
            p.destroyForcibly();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
