package io.celeriac.redis;

import io.celeriac.backend.ResultDocument;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.backend.ResultCodec;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.backend.TaskState;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class RedisResultBackendIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
    private RedisResultBackend backend;
    private RedisClient client;
    private StatefulRedisConnection<String, String> conn;
    private RedisCommands<String, String> redis;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(1));
        conn = client.connect();
        redis = conn.sync();
        redis.flushall();
        backend = new RedisResultBackend(RedisUrl.parse(REDIS.url(1)), Duration.ofHours(2), codec);
    }

    @AfterEach
    void tearDown() {
        backend.close();
        conn.close();
        client.shutdown();
    }

    @Test
    void storesCelerysDocumentWithExpiry() {
        ResultDocument doc = new ResultDocument("id-1", TaskState.SUCCESS, 5, null, List.of(),
                Instant.parse("2026-11-24T14:53:03.034974Z"), null, Map.of());
        backend.store(List.of(doc));
        String raw = redis.get("celery-task-meta-id-1");
        assertThat(raw).isEqualTo(new ResultCodec(codec).encode(doc));
        assertThat(codec.readJsonObject(raw)).containsEntry("status", "SUCCESS").containsEntry("result", 5)
                .containsEntry("date_done", "2026-11-24T14:53:03.034974").containsEntry("task_id", "id-1");
        assertThat(redis.ttl("celery-task-meta-id-1")).isBetween(7000L, 7200L);
        assertThat(backend.get("id-1")).contains(doc);
    }

    @Test
    void aStoreStartedAheadIsStoredAsStoreStoresWhenItsFutureCompletes() throws Exception {
        ResultDocument a = ResultDocument.of("ahead-1", TaskState.SUCCESS, 1);
        ResultDocument b = ResultDocument.of("ahead-2", TaskState.FAILURE, "boom");
        java.util.concurrent.CompletableFuture<Void> first = backend.storeAsync(List.of(a));
        java.util.concurrent.CompletableFuture<Void> second = backend.storeAsync(List.of(b));
        second.get(10, TimeUnit.SECONDS);
        assertThat(first).isCompleted();
        assertThat(redis.get("celery-task-meta-ahead-1")).isEqualTo(new ResultCodec(codec).encode(a));
        assertThat(redis.get("celery-task-meta-ahead-2")).isEqualTo(new ResultCodec(codec).encode(b));
        assertThat(redis.ttl("celery-task-meta-ahead-2")).isBetween(7000L, 7200L);
        assertThat(backend.storeAsync(List.of())).isCompleted();
    }

    @Test
    void aStoreStartedAheadWhileRedisIsDownFailsWithinBoundedTimeAndStoreTellsItIsAnOutage() throws Exception {
        REDIS.stop();
        try {
            java.util.concurrent.CompletableFuture<Void> f = backend.storeAsync(
                    List.of(ResultDocument.of("down-1", TaskState.SUCCESS, 1)));
            assertThat(f).failsWithin(Duration.ofSeconds(30));
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> backend.store(List.of(ResultDocument.of("down-1", TaskState.SUCCESS, 1))))
                    .isInstanceOf(io.celeriac.broker.BrokerUnavailableException.class);
        } finally {
            REDIS.start();
        }
    }

    @Test
    void awaitReturnsWhenAnotherThreadStores() throws Exception {
        java.util.concurrent.FutureTask<Optional<ResultDocument>> waiting = io.celeriac.fixtures.BlockingCall
                .startAndAwaitBlocked("result-wait", () -> backend.await("later", Duration.ofSeconds(20)));
        assertThat(redis.pubsubChannels("celery-task-meta-*")).containsExactly("celery-task-meta-later");
        backend.store(ResultDocument.of("later", TaskState.STARTED, null));
        backend.store(ResultDocument.of("later", TaskState.SUCCESS, "done"));
        Optional<ResultDocument> got = waiting.get(10, TimeUnit.SECONDS);
        assertThat(got).get().extracting(ResultDocument::status, ResultDocument::result)
                .containsExactly(TaskState.SUCCESS, "done");
        // While it waited, the backend was subscribed to the task's channel; once done, no longer: waits for many
        // tasks must not leave a subscription each behind.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> redis.pubsubChannels("celery-task-meta-*").isEmpty());
    }

    @Test
    void awaitTimesOutWithTheLastStateSeen() throws Exception {
        backend.store(ResultDocument.of("slow", TaskState.STARTED, null));
        assertThat(backend.await("slow", Duration.ofMillis(200))).get().extracting(ResultDocument::status)
                .isEqualTo(TaskState.STARTED);
        assertThat(backend.await("never", Duration.ofMillis(100))).isEmpty();
    }

    @Test
    void forgetDeletes() {
        backend.store(ResultDocument.of("f", TaskState.SUCCESS, 1));
        backend.forget("f");
        assertThat(backend.get("f")).isEmpty();
        assertThat(redis.exists("celery-task-meta-f")).isZero();
    }

    @Test
    void chordPartsAreCountedInCelerysKeysOnceEachAndTheLastReturnsThemInGroupOrder() {
        io.celeriac.backend.ChordCounter chords = backend.chords().orElseThrow();
        chords.setSize("g1", 3);
        assertThat(redis.get("celery-taskset-meta-g1.s")).isEqualTo("3");
        assertThat(chords.partDone("g1", "t2", 2, TaskState.SUCCESS, 20)).isEmpty();
        assertThat(chords.partDone("g1", "t0", 0, TaskState.SUCCESS, 0)).isEmpty();
        // Redelivered and run again: its record is replaced, not counted twice.
        assertThat(chords.partDone("g1", "t0", 0, TaskState.SUCCESS, 1)).isEmpty();
        assertThat(redis.zcard("celery-taskset-meta-g1.j")).isEqualTo(2);
        // Celery's member: the JSON of [1, task id, state, result], scored by group index.
        assertThat(codec.readJson(redis.zrange("celery-taskset-meta-g1.j", 0, 0).get(0)))
                .isEqualTo(List.of(1, "t0", "SUCCESS", 1));
        assertThat(redis.ttl("celery-taskset-meta-g1.j")).isBetween(7000L, 7200L);

        var done = chords.partDone("g1", "t1", 1, TaskState.FAILURE, Map.of("exc_type", "ValueError"));
        assertThat(done).isPresent();
        assertThat(done.get()).extracting(io.celeriac.backend.ChordCounter.Part::taskId)
                .containsExactly("t0", "t1", "t2");
        assertThat(done.get().get(1).state()).isEqualTo(TaskState.FAILURE);
        chords.forget("g1");
        assertThat(redis.keys("celery-taskset-meta-g1*")).isEmpty();
        // A part before the size is known records itself and completes nothing.
        assertThat(chords.partDone("g2", "x", 0, TaskState.SUCCESS, 1)).isEmpty();
    }
}
