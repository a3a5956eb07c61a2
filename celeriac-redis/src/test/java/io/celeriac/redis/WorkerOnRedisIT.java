package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The core worker end to end on Redis, the broker found by its URL. */
class WorkerOnRedisIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private Celeriac app;
    private Worker worker;

    @BeforeEach
    void setUp() {
        TestTasks.reset();
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).hostname("redis-it@test").build()).register(new TestTasks()).build();
        app.broker().purge("celery");
    }

    @AfterEach
    void tearDown() {
        TestTasks.release.countDown();
        if (worker != null) {
            worker.shutdownNow();
        }
        app.close();
    }

    @Test
    void resultsFailuresRetriesAndCountdown() {
        assertThat(app.broker()).isInstanceOf(RedisBroker.class);
        assertThat(app.backend()).isInstanceOf(RedisResultBackend.class);
        worker = app.worker().concurrency(4).start();
        AsyncResult ok = app.task("t.add").delay(2, 3);
        AsyncResult flaky = app.task("t.flaky").delay(2);
        AsyncResult bad = app.task("t.boom").delay("on redis");
        AsyncResult later = app.applyAsync("t.add", List.of(1, 1), Map.of(),
                SendOptions.builder().countdown(Duration.ofSeconds(1)).priority(6).build());
        assertThat(ok.get(Duration.ofSeconds(10))).isEqualTo(5);
        assertThat(flaky.get(Duration.ofSeconds(10))).isEqualTo("ok after 2 retries");
        assertThatThrownBy(() -> bad.get(Duration.ofSeconds(10))).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("on redis");
        assertThat(later.get(Duration.ofSeconds(10))).isEqualTo(2);
    }

    @Test
    void acksLateKeepsTheMessageUnackedUntilDone() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        worker = app.worker().concurrency(2).start();
        AsyncResult r = app.task("t.block_late").delay("late");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        RedisBroker broker = (RedisBroker) app.broker();
        assertThat(broker.unackedCount()).isEqualTo(1);
        TestTasks.release.countDown();
        assertThat(r.get(Duration.ofSeconds(10))).isEqualTo("late");
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.unackedCount() == 0);
    }

    @Test
    void uniqueTaskIdsAreSentOnceWhilePendingOrRunning() throws Exception {
        RedisBroker broker = (RedisBroker) app.broker();
        SendOptions id = SendOptions.builder().taskId("order-7-send_invoice").build();
        app.applyAsync("t.unique_block", List.of("a"), Map.of(), id);
        app.applyAsync("t.unique_block", List.of("a"), Map.of(), id);
        assertThat(broker.queueLength("celery")).isEqualTo(1);
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        worker = app.worker().start();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        app.applyAsync("t.unique_block", List.of("a"), Map.of(), id);
        TestTasks.release.countDown();
        assertThat(app.result("order-7-send_invoice").get(Duration.ofSeconds(10))).isEqualTo("a");
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.sync().exists("celeriac.unique:order-7-send_invoice") == 0);
        assertThat(TestTasks.CALLS.get("t.unique_block").get()).isEqualTo(1);
    }

    @Test
    void aThousandTasksEachRunExactlyOnce() {
        worker = app.worker().concurrency(8).start();
        List<Signature> sigs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            sigs.add(app.signature("t.add", i, 1));
        }
        List<AsyncResult> results = app.sendAll(sigs);
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).get(Duration.ofSeconds(30))).isEqualTo(i + 1);
        }
        assertThat(TestTasks.CALLS.get("t.add").get()).isEqualTo(1000);
        assertThat(((RedisBroker) app.broker()).unackedCount()).isZero();
    }
}
