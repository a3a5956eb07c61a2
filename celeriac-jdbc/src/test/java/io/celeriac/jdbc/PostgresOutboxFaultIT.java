package io.celeriac.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;
import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The outbox relay through faults, from PostgreSQL to a redis-server (both started by the test) to a worker that
 * counts what it runs, by task id, in the task itself (not in the result backend): PostgreSQL down between the commit
 * and the relay, PostgreSQL crashing in the middle of a batch, and a relay process killed in the middle of a batch.
 * Every committed send must run, and run once.
 */
class PostgresOutboxFaultIT {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();
    private static final AtomicInteger REDIS_DBS = new AtomicInteger();

    /** The task every send is: it records that it ran, under its task id. */
    public static final class Deliveries {
        final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

        @Task(name = "outbox.deliver")
        public void deliver(TaskContext ctx, int n) {
            runs.computeIfAbsent(ctx.id(), id -> new AtomicInteger()).incrementAndGet();
        }

        int total() {
            return runs.values().stream().mapToInt(AtomicInteger::get).sum();
        }
    }

    private final Deliveries deliveries = new Deliveries();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private HikariDataSource ds;
    private JdbcOutbox outbox;
    private Celeriac app;
    private String brokerUrl;

    @BeforeEach
    void setUp() {
        POSTGRES.freshDataSource(); // an empty schema
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(POSTGRES.jdbcUrl());
        hc.setUsername("postgres");
        hc.setMaximumPoolSize(4);
        // While PostgreSQL is down, a relay's attempt fails within a second instead of Hikari's default 30.
        hc.setConnectionTimeout(1000);
        hc.setValidationTimeout(500);
        hc.setPoolName("outbox-fault-test");
        ds = new HikariDataSource(hc);
        outbox = JdbcOutbox.create(ds);
        int db = REDIS_DBS.getAndAdd(2);
        brokerUrl = REDIS.url(db);
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(brokerUrl).resultBackend(REDIS.url(db + 1))
                .build()).register(deliveries).sendInterceptor(outbox.interceptor()).build();
        Worker worker = app.worker().queues("celery").concurrency(4).start();
        closing.add(worker::shutdownNow);
    }

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closing);
        for (AutoCloseable c : closing) {
            c.close();
        }
        app.close();
        ds.close();
    }

    /** Commits {@code n} sends, {@code perTransaction} to a transaction; their task ids in order. */
    private List<String> commitSends(int n, int perTransaction) throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            for (int i = 0; i < n; i++) {
                int arg = i;
                ids.add(outbox.within(c, () -> app.task("outbox.deliver").delay(arg)).id());
                if ((i + 1) % perTransaction == 0 || i == n - 1) {
                    c.commit();
                }
            }
        }
        assertThat(outbox.pending()).isEqualTo(n);
        return ids;
    }

    /** Every id ran, each exactly once, and nothing more arrives. */
    private void assertEachRanOnce(List<String> ids) {
        await().atMost(Duration.ofSeconds(90)).until(() -> deliveries.runs.keySet().containsAll(ids));
        // A row relayed twice would have run again by now: its second copy would be queued behind the first.
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> deliveries.total() == ids.size());
        assertThat(deliveries.runs.keySet()).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(deliveries.runs).allSatisfy((id, runs) -> assertThat(runs.get()).as(id).isEqualTo(1));
        assertThat(app.broker().queueLength("celery")).isZero();
        assertThat(outbox.pending()).isZero();
    }

    @Test
    void theRelayCarriesOnWhenPostgresIsDownBetweenTheCommitAndTheRelay() throws Exception {
        List<String> ids = commitSends(300, 100);
        POSTGRES.stop();

        OutboxRelay relay = outbox.relay(app.broker()).batchSize(50).pollInterval(Duration.ofMillis(100)).build();
        closing.add(relay);
        relay.start();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> deliveries.total() == 0);
        POSTGRES.start();

        assertEachRanOnce(ids);
        assertThat(relay.published()).isEqualTo(300);
    }

    @Test
    void aPostgresCrashInTheMiddleOfABatchQueuesNothingTwice() throws Exception {
        List<String> ids = commitSends(300, 100);
        AtomicBoolean crashed = new AtomicBoolean();
        AtomicInteger seen = new AtomicInteger();
        OutboxRelay relay = outbox.relay(app.broker()).batchSize(100).pollInterval(Duration.ofMillis(100))
                .listener(new OutboxRelay.Listener() {
                    @Override
                    public void relayed(OutboundMessage message, boolean published) {
                        // At the 40th message of the first batch, PostgreSQL crashes: the relay publishes the other
                        // 60, and its delete of all 100 is lost with the server.
                        if (seen.incrementAndGet() == 40 && crashed.compareAndSet(false, true)) {
                            try {
                                POSTGRES.stop();
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }
                }).build();
        closing.add(relay);
        relay.start();

        await().atMost(Duration.ofSeconds(30)).untilTrue(crashed);
        await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.total() == 100);
        POSTGRES.start();

        assertEachRanOnce(ids);
        // The lost batch's rows were all relayed again, and the broker knew each of them.
        assertThat(relay.duplicates()).isEqualTo(100);
        assertThat(relay.published()).isEqualTo(300);
    }

    @Test
    void aRelayProcessKilledInTheMiddleOfABatchLeavesNothingUndeliveredNorDoubled(@TempDir Path dir)
            throws Exception {
        List<String> ids = commitSends(200, 100);
        Path out = dir.resolve("relay.out");
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process relayProcess = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), OutboxRelayProcess.class.getName(), POSTGRES.jdbcUrl(),
                brokerUrl, "100", "40").redirectErrorStream(true).redirectOutput(out.toFile()).start();
        closing.add(relayProcess::destroyForcibly);

        await().atMost(Duration.ofSeconds(60)).until(() -> !relayProcess.isAlive()
                || Files.readString(out).contains("RELAYED 40"));
        assertThat(relayProcess.isAlive()).as("the relay process is running; its output:%n%s",
                Files.readString(out)).isTrue();
        // It published 40 messages of its batch and deleted nothing yet: they run, and every row is still there.
        await().atMost(Duration.ofSeconds(30)).until(() -> deliveries.total() == 40);
        assertThat(outbox.pending()).isEqualTo(200);

        relayProcess.destroyForcibly();
        assertThat(relayProcess.waitFor(10, TimeUnit.SECONDS)).isTrue();
        OutboxRelay relay = outbox.relay(app.broker()).batchSize(100).pollInterval(Duration.ofMillis(100)).build();
        closing.add(relay);
        relay.start();

        assertEachRanOnce(ids);
        assertThat(relay.duplicates()).isEqualTo(40);
        assertThat(relay.published()).isEqualTo(160);
    }
}
