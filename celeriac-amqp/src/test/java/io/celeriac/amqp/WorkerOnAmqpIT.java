package io.celeriac.amqp;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.fixtures.TestTasks;
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

/** The core worker end to end on RabbitMQ, the broker found by its URL, acks late, results in memory. */
class WorkerOnAmqpIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private Celeriac app;
    private Worker worker;

    @BeforeEach
    void setUp() {
        TestTasks.reset();
        app = Celeriac.builder().config(CeleriacConfig.builder()
                .brokerUrl(RABBIT.url() + "?task_queue_max_priority=10")
                .resultBackend("memory://").acksLate(true).hostname("amqp-it@test").build())
                .register(new TestTasks()).build();
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

    private AmqpBroker broker() {
        return (AmqpBroker) app.broker();
    }

    @Test
    void resultsFailuresRetriesCountdownAndPriority() {
        assertThat(app.broker()).isInstanceOf(AmqpBroker.class);
        worker = app.worker().concurrency(4).start();
        AsyncResult ok = app.task("t.add").delay(2, 3);
        AsyncResult flaky = app.task("t.flaky").delay(2);
        AsyncResult bad = app.task("t.boom").delay("on rabbitmq");
        // A countdown is an ETA: the worker receives it early and defers it through the delay levels.
        AsyncResult later = app.applyAsync("t.add", List.of(1, 1), Map.of(),
                SendOptions.builder().countdown(Duration.ofSeconds(1)).priority(6).build());
        assertThat(ok.get(Duration.ofSeconds(10))).isEqualTo(5);
        assertThat(flaky.get(Duration.ofSeconds(10))).isEqualTo("ok after 2 retries");
        assertThatThrownBy(() -> bad.get(Duration.ofSeconds(10))).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("on rabbitmq");
        assertThat(later.get(Duration.ofSeconds(15))).isEqualTo(2);
    }

    @Test
    void acksLateKeepsTheMessageUnackedUntilDone() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        worker = app.worker().concurrency(2).start();
        AsyncResult r = app.task("t.block_late").delay("late");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(broker().unsettledCount()).as("held unacked by the worker's connection").isEqualTo(1);
        assertThat(app.broker().queueLength("celery")).as("not ready for anyone else").isZero();
        TestTasks.release.countDown();
        assertThat(r.get(Duration.ofSeconds(10))).isEqualTo("late");
        await().atMost(Duration.ofSeconds(5)).until(() -> broker().unsettledCount() == 0);
    }

    /**
     * The worker tells its window (concurrency 2 × multiplier 3): RabbitMQ delivers ahead up to that many and no
     * more, the rest stays ready for other workers, and what was delivered ahead goes back when the worker stops.
     */
    @Test
    void aWorkerHoldsItsPrefetchWindowAndGivesBackWhatItHeldAheadWhenItStops() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(2);
        List<Signature> sigs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            sigs.add(app.signature("t.block_late", "b" + i));
        }
        app.sendAll(sigs);
        worker = app.worker().concurrency(2).prefetchMultiplier(3).start();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> broker().unsettledCount() == 6);
        // Held: two running, four waiting in the worker or delivered ahead; never more than the window.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
                .until(() -> broker().unsettledCount() == 6);
        assertThat(app.broker().queueLength("celery")).isEqualTo(14);
        assertThat(consumers("celery")).as("one standing subscription, not one per fetch").isEqualTo(1);

        worker.shutdownNow();
        worker = null;
        TestTasks.release.countDown();
        // The running ones were acks-late: back too. Nothing held, all 20 ready again.
        await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().queueLength("celery") == 20);
        assertThat(broker().unsettledCount()).isZero();
        assertThat(consumers("celery")).isZero();
    }

    /**
     * On several queues the window is for them together, as for one (a channel-wide limit beside each consumer's):
     * with both queues full, the worker still holds only its window. On one queue the consumer's own limit is all
     * there is (the test above), which RabbitMQ counts in the queue rather than asking the channel at each delivery.
     */
    @Test
    void onSeveralQueuesTheWindowIsForThemTogether() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(2);
        app.broker().purge("other");
        List<Signature> sigs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            sigs.add(app.signature("t.block_late", "a" + i));
            sigs.add(app.signature("t.block_late", "o" + i)
                    .withOptions(io.celeriac.task.SendOptions.builder().queue("other").build()));
        }
        app.sendAll(sigs);
        worker = app.worker().queues("celery", "other").concurrency(2).prefetchMultiplier(3).start();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> broker().unsettledCount() == 6);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                .until(() -> broker().unsettledCount() == 6);
        assertThat(app.broker().queueLength("celery") + app.broker().queueLength("other"))
                .as("ready in both queues together").isEqualTo(14);
        assertThat(consumers("celery")).isEqualTo(1);
        assertThat(consumers("other")).isEqualTo(1);
    }

    /**
     * The count {@code celeriac queues} and the dashboard show is RabbitMQ's: it follows workers as they start and
     * stop, each worker being one consumer of each queue it reads, and agrees with what RabbitMQ tells another client.
     */
    @Test
    void theConsumerCountFollowsWorkersStartingAndStopping() throws Exception {
        assertThat(app.broker().consumerCount("counted")).as("not declared yet: nobody reads it").hasValue(0);
        worker = app.worker().queues("counted", "celery").concurrency(2).start();
        await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().consumerCount("counted").orElse(-1) == 1);

        // A second worker process: its own app, connection and node name.
        try (Celeriac other = Celeriac.builder().config(app.config().toBuilder().hostname("second@test").build())
                .register(new TestTasks()).build()) {
            Worker second = other.worker().queues("counted").concurrency(1).start();
            try {
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> app.broker().consumerCount("counted").orElse(-1) == 2);
                assertThat(consumers("counted")).isEqualTo(2);
                assertThat(app.broker().consumerCount("celery")).as("the second worker does not read it").hasValue(1);
            } finally {
                second.shutdown(Duration.ofSeconds(10));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().consumerCount("counted").orElse(-1) == 1);
        }

        worker.shutdown(Duration.ofSeconds(10));
        worker = null;
        await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().consumerCount("counted").orElse(-1) == 0);
        assertThat(app.broker().consumerCount("celery")).hasValue(0);
    }

    /** RabbitMQ's count of consumers subscribed to {@code queue}, asked on a connection of the test's own. */
    private static int consumers(String queue) throws Exception {
        com.rabbitmq.client.ConnectionFactory f = new com.rabbitmq.client.ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(RABBIT.port());
        try (com.rabbitmq.client.Connection c = f.newConnection("worker-on-amqp-it")) {
            return c.createChannel().queueDeclarePassive(queue).getConsumerCount();
        }
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
        await().atMost(Duration.ofSeconds(5)).until(() -> broker().unsettledCount() == 0);
        assertThat(app.broker().queueLength("celery")).isZero();
    }

    @Test
    void taskQueueMaxPriorityComesFromTheConfigurationOrTheUrlButNotBothDifferently() {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(RABBIT.url()).resultBackend("memory://")
                .queueMaxPriority(10).build();
        try (Celeriac a = Celeriac.builder().config(config).build()) {
            // The queue exists with x-max-priority 10 (setUp's app declared it): the same from the setting is accepted.
            a.broker().declare(List.of("celery"));
        }
        CeleriacConfig both = CeleriacConfig.builder().brokerUrl(RABBIT.url() + "?task_queue_max_priority=5")
                .resultBackend("memory://").queueMaxPriority(10).build();
        assertThatThrownBy(() -> Celeriac.builder().config(both).build())
                .hasStackTraceContaining("set it in one place");
        CeleriacConfig other = CeleriacConfig.builder().brokerUrl(RABBIT.url()).resultBackend("memory://")
                .queueMaxPriority(3).build();
        try (Celeriac c = Celeriac.builder().config(other).build()) {
            assertThatThrownBy(() -> c.broker().declare(List.of("celery")))
                    .hasMessageContaining("task_queue_max_priority");
        }
    }

    @Test
    void anAmqpResultBackendIsRefusedWithWhatToUseInstead() {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(RABBIT.url()).build();
        assertThatThrownBy(() -> Celeriac.builder().config(config).build())
                .hasStackTraceContaining("configure result_backend with rpc://");
    }

    /**
     * Celery's rpc:// backend: the worker sends each result to the reply queue of the process that sent the task,
     * and only that process sees it.
     */
    @Test
    void rpcResultsComeBackToTheCallerAndOnlyToIt() throws Exception {
        CeleriacConfig rpc = CeleriacConfig.builder().brokerUrl(RABBIT.url() + "?task_queue_max_priority=10")
                .resultBackend("rpc://").acksLate(true).hostname("rpc-worker@test").build();
        try (Celeriac workerApp = Celeriac.builder().config(rpc).register(new TestTasks()).build();
             Celeriac caller = Celeriac.builder().config(rpc).build();
             Celeriac other = Celeriac.builder().config(rpc).build()) {
            assertThat(caller.backend()).isInstanceOf(AmqpRpcBackend.class);
            worker = workerApp.worker().concurrency(2).start();
            AsyncResult ok = caller.task("t.add").delay(20, 22);
            AsyncResult bad = caller.task("t.boom").delay("over rpc");
            assertThat(ok.get(Duration.ofSeconds(10))).isEqualTo(42);
            assertThatThrownBy(() -> bad.get(Duration.ofSeconds(10))).isInstanceOf(TaskFailedException.class)
                    .hasMessageContaining("over rpc");
            // Another client never sees them: results are messages to the caller's own queue, not stored.
            assertThat(other.backend().get(ok.id())).isEmpty();
            assertThat(caller.backend().get(ok.id())).get().extracting(d -> d.status()).isEqualTo("SUCCESS");
        }
    }
}
