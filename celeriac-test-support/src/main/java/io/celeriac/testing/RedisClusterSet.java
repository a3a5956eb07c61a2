package io.celeriac.testing;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A Redis Cluster of its own for a test: three masters and three replicas, each a {@code redis-server} process on a
 * free loopback port, joined by {@code redis-cli --cluster create}, so a test can see which master holds a key,
 * SIGKILL it and watch its replica take over. Nodes judge a peer failed after {@link #NODE_TIMEOUT_MS} (production
 * uses seconds to tens of seconds; a short one keeps failover tests short without changing what happens).
 *
 * <p>{@code cluster-require-full-coverage no}: while a dead master's replica is not yet promoted, the other masters
 * keep serving their slots (with the default, the whole cluster refuses every command until then). Either way the
 * dead master's slots are unavailable for the node timeout plus the election.
 */
public final class RedisClusterSet implements AutoCloseable {
    public static final int NODE_TIMEOUT_MS = 1000;

    private final Path dir;
    private final Map<Integer, Process> servers = new LinkedHashMap<>();
    private final RedisClient admin = RedisClient.create();

    private RedisClusterSet(Path dir) {
        this.dir = dir;
    }

    /** Starts six nodes, creates the cluster (one replica per master) and waits until every node says it is ok. */
    public static RedisClusterSet start() throws Exception {
        RedisClusterSet set = new RedisClusterSet(Files.createTempDirectory("celeriac-cluster"));
        try {
            set.boot();
        } catch (Exception | Error e) {
            set.close();
            throw e;
        }
        return set;
    }

    private void boot() throws Exception {
        SystemTools.require("redis-server", "redis-server");
        SystemTools.require("redis-cli", "redis-tools");
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int port = freeClusterPort();
            startServer(port);
            addresses.add("127.0.0.1:" + port);
        }
        List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
        create.addAll(addresses);
        create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
        Process p = new ProcessBuilder(create).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("create.log").toFile())).start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("redis-cli --cluster create failed; see " + dir.resolve("create.log"));
        }
        awaitHealthy(60);
    }

    /**
     * Waits until every live node says {@code cluster_state:ok} and knows every other one, and every replica has
     * finished its first sync (before that, {@code WAIT} cannot count it and a failover to it would lose everything).
     */
    public void awaitHealthy(long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (int port : livePorts()) {
            while (!healthy(port)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cluster node " + port + " is not ok: " + clusterInfo(port)
                            + "; see " + dir);
                }
                Thread.sleep(50);
            }
        }
    }

    private boolean healthy(int port) {
        try {
            String info = clusterInfo(port);
            if (!info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:" + servers.size())) {
                return false;
            }
            String replication = run(port, c -> c.sync().info("replication"));
            return replication.contains("role:master") || replication.contains("master_link_status:up");
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void startServer(int port) throws Exception {
        List<String> command = List.of("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--dbfilename", "dump-" + port + ".rdb",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + port + ".conf",
                "--cluster-node-timeout", Integer.toString(NODE_TIMEOUT_MS),
                "--cluster-require-full-coverage", "no",
                // Any replica may take over, however long its link was down (the test decides when masters die).
                "--cluster-replica-validity-factor", "0",
                "--repl-diskless-sync-delay", "0");
        servers.put(port, new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis-" + port + ".log").toFile()))
                .start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!RedisServerExtension.answersPing(port)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not start on port " + port);
            }
            Thread.sleep(20);
        }
    }

    /** {@code redis+cluster://127.0.0.1:<master1>,127.0.0.1:<master2>,...}: every node as a seed. */
    public String url() {
        StringBuilder s = new StringBuilder("redis+cluster://");
        boolean first = true;
        for (int port : livePorts()) {
            s.append(first ? "" : ",").append("127.0.0.1:").append(port);
            first = false;
        }
        return s.toString();
    }

    /** Ports of the nodes still running. */
    public List<Integer> livePorts() {
        List<Integer> ports = new ArrayList<>();
        servers.forEach((port, p) -> {
            if (p.isAlive()) {
                ports.add(port);
            }
        });
        return ports;
    }

    /** Ports of the live nodes that are masters now. */
    public Set<Integer> masters() {
        Set<Integer> masters = new TreeSet<>();
        for (int port : livePorts()) {
            try {
                if (run(port, c -> c.sync().info("replication")).contains("role:master")) {
                    masters.add(port);
                }
            } catch (RuntimeException e) {
                // not answering: not a master anyone can use
            }
        }
        return masters;
    }

    /** The hash slot of a key ({@code CLUSTER KEYSLOT}, asked of the cluster itself). */
    public int slotOf(String key) {
        return run(anyLive(), c -> c.sync().clusterKeyslot(key)).intValue();
    }

    /** The port of the master serving a key's slot now, as a live node's {@code CLUSTER SLOTS} says. */
    public int masterOf(String key) {
        return masterOfSlot(slotOf(key));
    }

    /** The port of the master serving a slot now, as a live node's {@code CLUSTER SLOTS} says. */
    public int masterOfSlot(int slot) {
        List<Object> ranges = run(anyLive(), c -> c.sync().clusterSlots());
        for (Object o : ranges) {
            List<?> range = (List<?>) o;
            long from = ((Number) range.get(0)).longValue();
            long to = ((Number) range.get(1)).longValue();
            if (slot >= from && slot <= to) {
                return ((Number) ((List<?>) range.get(2)).get(1)).intValue();
            }
        }
        throw new IllegalStateException("no node serves slot " + slot);
    }

    /** SIGKILLs one node (no goodbye to clients, no last replication). */
    public void kill(int port) throws InterruptedException {
        Process p = servers.get(port);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    /**
     * Starts a killed node again on its port with its old cluster config: it rejoins the cluster, and a master that
     * was replaced meanwhile comes back as a replica of its successor.
     */
    public void restart(int port) throws Exception {
        startServer(port);
    }

    /**
     * Waits until a live master other than {@code deadPort} serves {@code slot} (its replica was promoted) and the
     * surviving nodes say {@code cluster_state:ok}; returns the new master's port.
     */
    public int awaitPromotion(int deadPort, int slot, long timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline) {
            try {
                int now = masterOfSlot(slot);
                if (now != deadPort && run(now, c -> c.sync().info("replication")).contains("role:master")
                        && livePorts().stream().allMatch(p -> clusterInfo(p).contains("cluster_state:ok"))) {
                    return now;
                }
            } catch (RuntimeException e) {
                // a node is not answering yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("slot " + slot + " got no new master within " + timeoutSeconds + " s; see "
                + dir);
    }

    /** Empties every master (and so their replicas). */
    public void flushAll() {
        for (int port : masters()) {
            run(port, c -> c.sync().flushall());
        }
    }

    /** {@code CLUSTER INFO} of one node. */
    public String clusterInfo(int port) {
        return run(port, c -> c.sync().clusterInfo());
    }

    /** Runs something on a direct connection to one node (not routed by the cluster), for checks. */
    public <T> T run(int port, Function<StatefulRedisConnection<String, String>, T> f) {
        try (StatefulRedisConnection<String, String> c = admin.connect(RedisURI.create("redis://127.0.0.1:" + port))) {
            return f.apply(c);
        }
    }

    private int anyLive() {
        for (int port : livePorts()) {
            if (RedisServerExtension.answersPing(port)) {
                return port;
            }
        }
        throw new IllegalStateException("no cluster node answers");
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        admin.shutdown();
        for (Process p : servers.values()) {
            p.destroyForcibly();
        }
    }

    /** A free loopback port whose cluster bus port (port + 10000) is free too. */
    private static int freeClusterPort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            if (port + 10000 > 65535) {
                continue;
            }
            try (ServerSocket bus = new ServerSocket(port + 10000, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IOException("no free port pair (port, port + 10000) on loopback");
    }
}
