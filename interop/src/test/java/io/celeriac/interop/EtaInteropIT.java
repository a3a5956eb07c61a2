package io.celeriac.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Countdown and ETA across languages: a task Java sends with a countdown is queued as Celery queues it (on the
 * queue's list, the time in the {@code eta} header), so a fleet of Python Celery workers runs it when due with no
 * Celeriac worker anywhere; and on a queue both serve, each such task runs exactly once.
 */
class EtaInteropIT {
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
                        .hostname("java@eta").build())
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
    void aCountdownSentFromJavaRunsOnAPythonWorkerWhenDue() throws Exception {
        pyWorker = python.worker("py-eta", "py", 2);
        // The Python worker is consuming once it has answered a first task.
        assertThat(app.applyAsync("interop.py_mul", List.of(1, 1), Map.of(),
                SendOptions.builder().queue("py").build()).get(Duration.ofSeconds(60))).isEqualTo(1);

        Instant sent = Instant.now();
        AsyncResult later = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                SendOptions.builder().queue("py").countdown(Duration.ofSeconds(3)).build());
        Instant eta = sent.plusSeconds(3);

        assertThat(later.get(Duration.ofSeconds(60))).isEqualTo(42);
        // Run by Celery when due, not on arrival: its result was written after the ETA (less a little for the two
        // clocks' rounding; an early run would be about 3 s before it).
        Map<String, Object> meta;
        try (StatefulRedisConnection<String, String> results = client.connect(RedisURI.create(REDIS.url(1)))) {
            meta = json.readValue(results.sync().get("celery-task-meta-" + later.id()), Map.class);
        }
        assertThat(meta).containsEntry("status", "SUCCESS");
        assertThat(doneAt(String.valueOf(meta.get("date_done")))).isAfter(eta.minusMillis(500));
        // Nothing was parked in Celeriac's own schedule, which only a Celeriac worker would ever move.
        assertThat(redis.zcard("celeriac.scheduled")).isZero();
    }

    @Test
    void countdownsOnAQueueBothWorkersServeRunExactlyOnce() throws Exception {
        int n = 40;
        pyWorker = python.worker("py-eta-shared", "shared", 2);
        worker = app.worker().queues("shared").concurrency(2).prefetchMultiplier(1).start();
        List<Signature> batch = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            batch.add(app.signature("interop.record", List.of(i), Map.of(),
                    SendOptions.builder().queue("shared").countdown(Duration.ofSeconds(2)).build()));
        }
        app.sendAll(batch);

        await().atMost(Duration.ofMinutes(2)).until(() -> redis.llen("interop:ran") >= n);
        // Give any duplicate a moment to show up before counting.
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> redis.llen("interop:ran") >= n);
        Map<String, Integer> perTask = new HashMap<>();
        for (String line : redis.lrange("interop:ran", 0, -1)) {
            perTask.merge(line.split(":")[1], 1, Integer::sum);
        }
        assertThat(perTask).hasSize(n).allSatisfy((task, count) -> assertThat(count).isEqualTo(1));
        await().atMost(Duration.ofSeconds(30)).until(() -> redis.zcard("celeriac.scheduled") == 0
                && redis.hlen("unacked") == 0);
    }

    /** Celery's {@code date_done}: ISO 8601, UTC, with or without an offset. */
    private static Instant doneAt(String s) {
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (RuntimeException e) {
            return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
        }
    }
}
