package io.celeriac.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Celeriac and the real Celery 5 (Debian's python3-celery) on one Redis: Python sends to our worker, we send to a
 * Python worker, and both workers share a queue.
 */
class CeleryInteropIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final ObjectMapper json = new ObjectMapper();
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private RedisCommands<String, String> redis;
    private Celeriac app;
    private Worker worker;
    private Process pyWorker;
    private PythonCelery python;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        connection = client.connect();
        redis = connection.sync();
        redis.flushall();
        python = new PythonCelery(REDIS.url(0), REDIS.url(1));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1))
                        .hostname("java@interop").build())
                .register(new InteropTasks(redis)).build();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (worker != null) {
            worker.shutdown(Duration.ofSeconds(10));
        }
        PythonCelery.stop(pyWorker);
        app.close();
        connection.close();
        client.shutdown();
    }

    @Test
    @SuppressWarnings("unchecked")
    void pythonClientSendsToOurWorkerAndReadsOurResults() throws Exception {
        worker = app.worker().queues("java").concurrency(4).start();

        Map<String, Object> seen = json.readValue(python.client("send-to-java"), Map.class);

        assertThat(seen.get("add")).isEqualTo(5);
        assertThat(seen.get("kwargs")).isEqualTo(42);
        assertThat(seen.get("default")).as("kw(1, c=9) with b's default, 2").isEqualTo(129);
        assertThat(seen.get("countdown")).isEqualTo(2);
        assertThat(((Number) seen.get("countdown_waited")).doubleValue()).isGreaterThanOrEqualTo(1.5);
        assertThat(seen.get("priority")).isEqualTo(10);
        assertThat(seen.get("custom_id")).isEqualTo(List.of("order-42-add", 15));
        Map<String, Object> boom = (Map<String, Object>) seen.get("boom");
        assertThat(boom.get("type")).isEqualTo("IllegalArgumentException");
        assertThat((String) boom.get("message")).contains("no such order");
        assertThat(boom.get("state")).isEqualTo("FAILURE");
        assertThat((String) boom.get("traceback")).contains("java.lang.IllegalArgumentException");
    }

    @Test
    @SuppressWarnings("unchecked")
    void ourClientSendsToAPythonWorkerAndReadsItsResults() throws Exception {
        pyWorker = python.worker("py", "py", 2);
        AsyncResult mul = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                SendOptions.builder().queue("py").build());
        assertThat(mul.get(Duration.ofSeconds(60))).isEqualTo(42);

        AsyncResult kw = app.applyAsync("interop.py_mul", List.of(), Map.of("x", "ab", "y", 3),
                SendOptions.builder().queue("py").priority(9).taskId("java-sent-1").build());
        assertThat(kw.get(Duration.ofSeconds(30))).isEqualTo("ababab");

        AsyncResult fail = app.applyAsync("interop.py_fail", List.of("missing-key"), Map.of(),
                SendOptions.builder().queue("py").build());
        assertThatThrownBy(() -> fail.get(Duration.ofSeconds(30))).isInstanceOfSatisfying(TaskFailedException.class,
                e -> {
                    assertThat(e.excType()).isEqualTo("KeyError");
                    assertThat(e.excModule()).isEqualTo("builtins");
                    assertThat(e.excMessage()).contains("missing-key");
                    assertThat(e.remoteTraceback()).contains("Traceback");
                });

        // A Python client reads the result of a task our producer sent.
        Map<String, Object> read = json.readValue(python.client("get", "java-sent-1"), Map.class);
        assertThat(read).containsEntry("state", "SUCCESS").containsEntry("result", "ababab");
    }

    @Test
    void aPythonAndAJavaWorkerShareAQueueAndEachTaskRunsExactlyOnce() throws Exception {
        int n = 1000;
        pyWorker = python.worker("py-shared", "shared", 4);
        worker = app.worker().queues("shared").concurrency(4).prefetchMultiplier(1).start();
        // Half sent by our producer (one round trip per 100), half by Python's.
        List<Signature> batch = new ArrayList<>();
        for (int i = 0; i < n / 2; i++) {
            batch.add(app.signature("interop.record", List.of(i), Map.of(),
                    SendOptions.builder().queue("shared").build()));
            if (batch.size() == 100) {
                app.sendAll(batch);
                batch.clear();
            }
        }
        python.client("send-records-from", Integer.toString(n / 2), Integer.toString(n), "shared");

        await().atMost(Duration.ofMinutes(3)).until(() -> redis.llen("interop:ran") >= n);
        // Give any duplicate a moment to show up before counting.
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> redis.llen("interop:ran") >= n);
        List<String> ran = redis.lrange("interop:ran", 0, -1);
        Map<String, Integer> perTask = new HashMap<>();
        int byJava = 0;
        int byPython = 0;
        for (String line : ran) {
            String[] parts = line.split(":");
            perTask.merge(parts[1], 1, Integer::sum);
            if (parts[0].equals("java")) {
                byJava++;
            } else {
                byPython++;
            }
        }
        assertThat(ran).hasSize(n);
        assertThat(perTask).hasSize(n).allSatisfy((task, count) -> assertThat(count).isEqualTo(1));
        assertThat(byJava).as("tasks run by the Java worker").isPositive();
        assertThat(byPython).as("tasks run by the Python worker").isPositive();
    }
}
