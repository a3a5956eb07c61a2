package io.celeriac.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisSentinelSet;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Celeriac and the real Celery 5 (Debian's python3-celery) through Redis Sentinel, both configured Celery's way:
 * {@code sentinel://} URLs for broker and backend, {@code master_name} in the transport options. Python sends to our
 * worker and reads our results; we send to a Python worker and read its.
 */
class SentinelInteropIT {
    private static RedisSentinelSet set;

    private final ObjectMapper json = new ObjectMapper();
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private Celeriac app;
    private Worker worker;
    private Process pyWorker;
    private PythonCelery python;

    @BeforeAll
    static void startSet() throws Exception {
        set = RedisSentinelSet.start(1);
    }

    @AfterAll
    static void stopSet() {
        set.close();
    }

    @BeforeEach
    void setUp() {
        client = RedisClient.create();
        connection = client.connect(io.lettuce.core.RedisURI.create("redis://127.0.0.1:" + set.masterPort() + "/0"));
        connection.sync().flushall();
        python = new PythonCelery(set.celeryUrl(0), set.celeryUrl(1),
                Map.of("INTEROP_MASTER_NAME", RedisSentinelSet.MASTER, "INTEROP_LEDGER",
                        "redis://127.0.0.1:" + set.masterPort() + "/0"));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(set.celeryUrl(0)).resultBackend(set.celeryUrl(1))
                        .brokerTransportOptions(Map.of("master_name", RedisSentinelSet.MASTER))
                        .resultBackendTransportOptions(Map.of("master_name", RedisSentinelSet.MASTER))
                        .hostname("java@sentinel").build())
                .register(new InteropTasks(connection.sync())).build();
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
    void pythonSendsThroughSentinelToOurWorker() throws Exception {
        worker = app.worker().queues("java").concurrency(4).start();
        Map<String, Object> seen = json.readValue(python.client("send-to-java"), Map.class);
        assertThat(seen.get("add")).isEqualTo(5);
        assertThat(seen.get("kwargs")).isEqualTo(42);
        assertThat(seen.get("priority")).isEqualTo(10);
        assertThat(((Map<String, Object>) seen.get("boom")).get("state")).isEqualTo("FAILURE");
    }

    @Test
    @SuppressWarnings("unchecked")
    void weSendThroughSentinelToAPythonWorker() throws Exception {
        pyWorker = python.worker("py", "py", 2);
        AsyncResult mul = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                SendOptions.builder().queue("py").taskId("java-sentinel-1").build());
        assertThat(mul.get(Duration.ofSeconds(60))).isEqualTo(42);
        Map<String, Object> read = json.readValue(python.client("get", "java-sentinel-1"), Map.class);
        assertThat(read).containsEntry("state", "SUCCESS").containsEntry("result", 42);
    }
}
