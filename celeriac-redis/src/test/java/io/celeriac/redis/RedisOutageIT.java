package io.celeriac.redis;

import io.celeriac.testing.RedisServerExtension;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.redis.testing.SlowTasks;
import io.celeriac.redis.testing.WorkerMain;
import io.celeriac.task.Signature;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis itself goes away while consumers hold acks-late messages: stopped (SIGKILL) and restarted from its AOF, or
 * paused (SIGSTOP). Heartbeat keys expire on Redis's clock meanwhile, so a reaper that trusted them alone would take
 * every live consumer's messages once Redis is back. Afterwards: nothing restored, the consumer set intact; then a
 * worker process killed for real gets its messages restored as soon as the hold is over.
 *
 * <p>The outages run one after another on one fleet (two in-process consumers and a worker in its own JVM): stop 1 s
 * (shorter than the gap that starts a hold), stop 5 s, pause 15 s, stop 15 s. {@code -Dceleriac.outages=stop:60}
 * runs others.
 */
class RedisOutageIT {
    private static final String OUTAGES = System.getProperty("celeriac.outages", "stop:1,stop:5,pause:15,stop:15");
    private static final int HELD_PER_CONSUMER = 3;

    private final MessageCodec codec = new MessageCodec();
    private final List<RedisBroker> brokers = new ArrayList<>();
    private PersistentRedis server;
    private Celeriac app;
    private Process victim;
    private Path victimLog;

    @BeforeEach
    void setUp() throws Exception {
        server = PersistentRedis.launch();
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(server.url(0))
                .resultBackend(server.url(1)).hostname("producer@test").build()).register(new SlowTasks()).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (victim != null) {
            victim.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        brokers.forEach(RedisBroker::close);
        app.close();
        server.close();
    }

    private RedisBroker broker() {
        RedisBroker b = new RedisBroker(RedisUrl.parse(server.url(0)), CeleriacConfig.defaults(), codec,
                Clock.systemUTC());
        brokers.add(b);
        return b;
    }

    private OutboundMessage message(String queue, String id) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey(queue)
                .deliveryTag(UUID.randomUUID().toString()).build();
        return new OutboundMessage(queue, 0, codec.encode(m), id, null);
    }

    @Test
    void outagesOfRedisTakeNoLiveConsumersMessagesAndAWorkerKilledAfterwardsGetsItsBack() throws Exception {
        // Two in-process consumers each hold messages reserved and not acked (acks late, tasks still running).
        RedisBroker producer = broker();
        List<OutboundMessage> held = new ArrayList<>();
        for (int i = 0; i < 2 * HELD_PER_CONSUMER; i++) {
            held.add(message("held", "held-" + i));
        }
        producer.publish(held);
        List<RedisBroker> holders = List.of(broker(), broker());
        List<List<Delivery>> holding = new ArrayList<>();
        for (RedisBroker h : holders) {
            holding.add(h.reserve(List.of("held"), HELD_PER_CONSUMER, Duration.ofSeconds(5)));
        }
        assertThat(holding).allSatisfy(d -> assertThat(d).hasSize(HELD_PER_CONSUMER));

        // A worker in its own JVM runs two acks-late tasks far longer than the whole test.
        List<Signature> slow = List.of(app.signature("slow.work", 1, 600_000), app.signature("slow.work", 2, 600_000));
        app.sendAll(slow);
        victimLog = Files.createTempFile("outage-victim", ".log");
        victim = new ProcessBuilder(javaBin(), "-cp", System.getProperty("java.class.path"),
                WorkerMain.class.getName(), server.url(0), server.url(1), "2")
                .redirectErrorStream(true).redirectOutput(victimLog.toFile()).start();
        int total = 2 * HELD_PER_CONSUMER + 2;
        RedisCommands<String, String> redis = producer.sync();
        await().atMost(Duration.ofSeconds(60)).until(() -> producer.unackedCount() == total
                && redis.scard(RedisBroker.CONSUMERS) == 3);
        Set<String> consumers = new HashSet<>(redis.smembers(RedisBroker.CONSUMERS));
        String victimId = consumers.stream().filter(id -> holders.stream().noneMatch(h -> h.consumerId().equals(id)))
                .findFirst().orElseThrow();
        assertThat(redis.scard(UnackedRestorer.UNACKED_PREFIX + victimId)).isEqualTo(2);
        // Start from steady state: the hold the very first heartbeat set (no earlier one was known) is over.
        awaitNoHold(producer);

        for (String outage : OUTAGES.split(",")) {
            String kind = outage.split(":")[0];
            int seconds = Integer.parseInt(outage.split(":")[1]);
            String what = kind + " " + seconds + " s";
            if (kind.equals("pause")) {
                server.pause();
                Thread.sleep(seconds * 1000L); // the outage itself, not a wait for a condition
                server.resume();
            } else {
                server.kill();
                Thread.sleep(seconds * 1000L);
                server.start();
            }

            // As soon as Redis answers, before the consumers may even have beaten again, a recovery takes nothing.
            RedisBroker reaper = broker();
            assertThat(reaper.recoverNow()).as("recovery right after " + what).containsExactly(0, 0);
            // Once the hold is over and everyone beat again, recovery still takes nothing from anyone alive.
            awaitNoHold(reaper);
            await().atMost(Duration.ofSeconds(30)).until(() -> consumers.stream()
                    .allMatch(id -> reaper.sync().exists(UnackedRestorer.HEARTBEAT_PREFIX + id) == 1));
            assertThat(reaper.recoverNow()).as("recovery after the hold, " + what).containsExactly(0, 0);
            assertThat(new HashSet<>(reaper.sync().smembers(RedisBroker.CONSUMERS))).as("consumers after " + what)
                    .isEqualTo(consumers);
            assertThat(reaper.unackedCount()).as("unacked after " + what).isEqualTo(total);
            assertThat(reaper.queueLength("held") + reaper.queueLength("celery")).as("restored after " + what)
                    .isZero();
        }

        // Now a consumer really dies: its messages come back once its heartbeat expires, the hold long over.
        victim.destroyForcibly();
        assertThat(victim.waitFor(10, TimeUnit.SECONDS)).isTrue();
        RedisBroker reader = broker();
        await().atMost(Duration.ofSeconds(60)).until(() -> reader.queueLength("celery") == 2);
        assertThat(reader.sync().sismember(RedisBroker.CONSUMERS, victimId)).isFalse();
        // ... and only its messages: the live consumers still hold theirs, and their acks settle them.
        assertThat(reader.queueLength("held")).isZero();
        assertThat(reader.unackedCount()).isEqualTo(2 * HELD_PER_CONSUMER);
        for (int i = 0; i < holders.size(); i++) {
            holders.get(i).ack(holding.get(i));
        }
        assertThat(reader.unackedCount()).isZero();
    }

    /** Waits until reaping is not on hold, judged on Redis's clock. */
    private static void awaitNoHold(RedisBroker b) {
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            String after = b.sync().get(UnackedRestorer.REAP_AFTER);
            List<String> t = b.sync().time();
            long now = Long.parseLong(t.get(0)) * 1000 + Long.parseLong(t.get(1)) / 1000;
            return after == null || Long.parseLong(after) <= now;
        });
    }

    private static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    /**
     * A redis-server that keeps its data across a restart (AOF, every write fsynced), on a free loopback port:
     * RedisServerExtension runs without persistence, so a restart there starts empty. Stop is SIGKILL, pause is
     * SIGSTOP and SIGCONT, always of the process started here.
     */
    static final class PersistentRedis implements AutoCloseable {
        private final int port;
        private final Path dir;
        private Process process;

        private PersistentRedis(int port, Path dir) {
            this.port = port;
            this.dir = dir;
        }

        static PersistentRedis launch() throws IOException, InterruptedException {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            PersistentRedis r = new PersistentRedis(port, Files.createTempDirectory("celeriac-redis-aof"));
            r.start();
            return r;
        }

        String url(int db) {
            return "redis://127.0.0.1:" + port + "/" + db;
        }

        synchronized void start() throws IOException, InterruptedException {
            process = new ProcessBuilder(List.of("redis-server", "--port", Integer.toString(port), "--bind",
                    "127.0.0.1", "--dir", dir.toString(), "--appendonly", "yes", "--appendfsync", "always",
                    "--save", ""))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis.log").toFile()))
                    .start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!ping()) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("redis-server did not start on port " + port + ":\n"
                            + Files.readString(dir.resolve("redis.log")));
                }
                Thread.sleep(20);
            }
        }

        synchronized void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        void pause() throws IOException, InterruptedException {
            signal("-STOP");
        }

        void resume() throws IOException, InterruptedException {
            signal("-CONT");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!ping() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }

        private void signal(String signal) throws IOException, InterruptedException {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).inheritIO().start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0).as("kill " + signal).isTrue();
        }

        private boolean ping() {
            return io.celeriac.testing.RedisServerExtension.answersPing(port);
        }

        @Override
        public void close() throws Exception {
            if (process != null && process.isAlive()) {
                signal("-CONT");
                kill();
            }
        }
    }
}
