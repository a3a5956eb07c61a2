package io.celeriac.interop;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskRevokedException;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Celery's own monitoring tools see our worker: {@code celery events --dump}, {@code celery inspect},
 * {@code celery control revoke}; and our {@code celeriac inspect} sees Python workers.
 */
class CeleryMonitoringIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    static final CountDownLatch[] RELEASE = {new CountDownLatch(0)};

    /** A task that blocks until the test releases it, to be seen by {@code inspect active}. */
    public static class HoldTasks {
        @io.celeriac.task.Task(name = "interop.hold")
        public String hold(String tag) throws InterruptedException {
            RELEASE[0].await();
            return tag;
        }
    }

    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private Celeriac app;
    private Worker worker;
    private PythonCelery python;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        connection = client.connect();
        connection.sync().flushall();
        python = new PythonCelery(REDIS.url(0), REDIS.url(1));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1)).build())
                .register(new InteropTasks(connection.sync()), new HoldTasks()).build();
        worker = app.worker().hostname("java@interop").queues("java").concurrency(2).sendEvents(true).start();
    }

    @AfterEach
    void tearDown() {
        RELEASE[0].countDown();
        worker.shutdown(Duration.ofSeconds(5));
        app.close();
        connection.close();
        client.shutdown();
    }

    @Test
    void celeryEventsDumpSeesOurWorkerAndTasks() throws Exception {
        File out = Files.createTempFile("evdump", ".txt").toFile();
        Process dump = python.celeryInBackground(out, "events", "--dump");
        try {
            // Heartbeats every 2 s: the dumper sees our worker without any task running.
            await().atMost(Duration.ofSeconds(30)).until(() -> read(out).contains("java@interop"));
            AsyncResult r = app.applyAsync("interop.add", List.of(20, 22), Map.of(),
                    SendOptions.builder().queue("java").build());
            assertThat(r.get(Duration.ofSeconds(10))).isEqualTo(42);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(read(out))
                    .contains("java@interop")
                    .contains("task received")
                    .contains("interop.add(" + r.id() + ") args=(20, 22)")
                    .contains("task succeeded")
                    .contains("result=42"));
        } finally {
            PythonCelery.stop(dump);
        }
    }

    @Test
    void celeryInspectPingAndActiveListOurWorker() throws Exception {
        assertThat(python.celery("inspect", "ping", "-t", "3")).contains("java@interop: OK").contains("pong");

        RELEASE[0] = new CountDownLatch(1);
        AsyncResult held = app.applyAsync("interop.hold", List.of("x"), Map.of(),
                SendOptions.builder().queue("java").build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !worker.active().isEmpty());
        String active = python.celery("inspect", "active", "-t", "3");
        assertThat(active).contains("java@interop: OK").contains(held.id()).contains("interop.hold");
        String registered = python.celery("inspect", "registered", "-t", "3");
        assertThat(registered).contains("interop.add").contains("interop.hold");
        RELEASE[0].countDown();
        assertThat(held.get(Duration.ofSeconds(10))).isEqualTo("x");
    }

    @Test
    void celeryControlRevokeStopsOurTask() throws Exception {
        AsyncResult later = app.applyAsync("interop.add", List.of(1, 1), Map.of(),
                SendOptions.builder().queue("java").countdown(Duration.ofSeconds(4)).build());
        String out = python.celery("control", "revoke", later.id(), "-t", "3");
        assertThat(out).contains("java@interop: OK").contains("flagged as revoked");
        assertThatThrownBy(() -> later.get(Duration.ofSeconds(20))).isInstanceOf(TaskRevokedException.class);

        RELEASE[0] = new CountDownLatch(1);
        AsyncResult running = app.applyAsync("interop.hold", List.of("y"), Map.of(),
                SendOptions.builder().queue("java").build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !worker.active().isEmpty());
        python.celery("control", "terminate", "SIGTERM", running.id(), "-t", "3");
        assertThatThrownBy(() -> running.get(Duration.ofSeconds(20))).isInstanceOf(TaskRevokedException.class)
                .hasMessageContaining("terminated");
    }

    @Test
    void ourInspectPingListsPythonWorkers() throws Exception {
        Process py = python.worker("pyw", "py", 1);
        try {
            Path jar = Path.of("../celeriac-cli/target/celeriac.jar").toAbsolutePath().normalize();
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                Process p = new ProcessBuilder(javaBin(), "-jar", jar.toString(), "inspect", "ping",
                        "-b", REDIS.url(0), "-t", "2").redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor();
                assertThat(text).contains("pyw@").contains("java@interop").contains("pong");
            });
        } finally {
            PythonCelery.stop(py);
        }
    }

    private static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }

    private static String read(File f) throws java.io.IOException {
        return Files.readString(f.toPath());
    }
}
