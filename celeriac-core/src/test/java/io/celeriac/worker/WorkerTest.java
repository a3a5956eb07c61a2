package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskFailedException;
import io.celeriac.task.TaskRevokedException;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class WorkerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private InMemoryBroker broker;
    private InMemoryResultBackend backend;
    private Celeriac app;
    private Worker worker;

    @BeforeEach
    void setUp() {
        TestTasks.reset();
        broker = new InMemoryBroker();
        backend = new InMemoryResultBackend();
        app = app(CeleriacConfig.builder().hostname("test@local").build());
    }

    private Celeriac app(CeleriacConfig config) {
        return Celeriac.builder().config(config).broker(broker).resultBackend(backend)
                .register(new TestTasks()).build();
    }

    @AfterEach
    void tearDown() {
        TestTasks.release.countDown();
        if (worker != null) {
            worker.shutdownNow();
        }
        broker.close();
    }

    private Worker start(Worker.Builder b) {
        worker = b.start();
        return worker;
    }

    @Test
    void runsTasksAndStoresResults() {
        start(app.worker().concurrency(2));
        AsyncResult r = app.task("t.add").delay(2, 3);
        assertThat(r.get(WAIT)).isEqualTo(5);
        assertThat(r.state()).isEqualTo(TaskState.SUCCESS);
        assertThat(r.successful()).isTrue();
        assertThat(r.ready()).isTrue();
        assertThat(worker.processed()).containsEntry("t.add", 1L);
    }

    @Test
    void virtualPoolUsesVirtualThreadsOnJava21AndPlatformThreadsBefore() throws Exception {
        app.register(io.celeriac.task.TaskDefinition.of("t.thread_kind", (ctx, args, kwargs) -> {
            try {
                return Thread.class.getMethod("isVirtual").invoke(Thread.currentThread());
            } catch (NoSuchMethodException beforeJava21) {
                return false;
            }
        }));
        start(app.worker().pool("virtual").concurrency(3));
        boolean virtualAvailable = Runtime.version().feature() >= 21;
        assertThat(app.task("t.thread_kind").delay().get(WAIT)).isEqualTo(virtualAvailable);
        assertThat(worker.stats()).extractingByKey("pool").asString().contains("virtual");
    }

    /**
     * Tasks received in one batch start on one pool thread, which has another started while requests are left
     * behind: tasks that wait for each other must all get a thread at once, on either pool.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"threads", "virtual"})
    void aBatchOfTasksThatWaitForEachOtherAllRunAtOnce(String pool) {
        int n = 6;
        CountDownLatch allRunning = new CountDownLatch(n);
        app.register(io.celeriac.task.TaskDefinition.of("t.rendezvous", (ctx, args, kwargs) -> {
            allRunning.countDown();
            return allRunning.await(5, TimeUnit.SECONDS);
        }));
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            results.add(app.task("t.rendezvous").delay());
        }
        // Queued before the worker starts, so its first reserve takes all of them in one batch.
        start(app.worker().pool(pool).concurrency(n));
        for (AsyncResult r : results) {
            assertThat(r.get(WAIT)).as("every task saw all %d running together", n).isEqualTo(true);
        }
    }

    @Test
    void recordsAndPojosTravelAsJsonBothWays() {
        start(app.worker());
        AsyncResult r = app.task("t.norm").delay(new TestTasks.Point(2, 3), List.of(10, 100));
        assertThat(r.get(WAIT, TestTasks.Point.class)).isEqualTo(new TestTasks.Point(20, 300));
        assertThat(r.get(WAIT)).isEqualTo(Map.of("x", 20, "y", 300));
    }

    @Test
    void kwargsBindByParameterName() {
        start(app.worker());
        AsyncResult r = app.applyAsync("t.add", List.of(), Map.of("y", 40, "x", 2), SendOptions.none());
        assertThat(r.get(WAIT)).isEqualTo(42);
    }

    @Test
    void failureCarriesTypeMessageModuleAndTraceback() {
        start(app.worker());
        AsyncResult r = app.task("t.boom").delay("it broke");
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.excType()).isEqualTo("IllegalStateException");
            assertThat(e.excModule()).isEqualTo("java.lang");
            assertThat(e.excMessage()).isEqualTo("it broke");
            assertThat(e.remoteTraceback()).contains("java.lang.IllegalStateException: it broke")
                    .contains("TestTasks.boom");
        });
        assertThat(r.failed()).isTrue();
        assertThat(r.result()).isEqualTo(Map.of("exc_type", "IllegalStateException",
                "exc_message", List.of("it broke"), "exc_module", "java.lang"));
    }

    @Test
    void autoretryWithBackoffUntilSuccess() {
        start(app.worker());
        AsyncResult r = app.task("t.flaky").delay(2);
        assertThat(r.get(WAIT)).isEqualTo("ok after 2 retries");
        assertThat(TestTasks.CALLS.get("t.flaky").get()).isEqualTo(3);
    }

    @Test
    void autoretryGivesUpAfterMaxRetriesWithTheOriginalException() {
        start(app.worker());
        AsyncResult r = app.task("t.flaky").delay(100);
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.excType()).isEqualTo("TestTasks.FlakyError");
            assertThat(e.excModule()).isEqualTo("io.celeriac.fixtures");
            assertThat(e.excMessage()).isEqualTo("attempt 6");
        });
        // maxRetries = 5: the first run plus five retries.
        assertThat(TestTasks.CALLS.get("t.flaky").get()).isEqualTo(6);
    }

    @Test
    void dontAutoretryForWins() {
        start(app.worker());
        AsyncResult r = app.task("t.fatal").delay();
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("not retried");
        assertThat(TestTasks.CALLS.get("t.fatal").get()).isEqualTo(1);
    }

    @Test
    void manualRetryThenFailureWithTheGivenException() {
        start(app.worker());
        AsyncResult r = app.task("t.manual_retry").delay();
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.excType()).isEqualTo("IllegalArgumentException");
            assertThat(e.excMessage()).isEqualTo("still broken on try 2");
        });
        assertThat(TestTasks.CALLS.get("t.manual_retry").get()).isEqualTo(3);
    }

    @Test
    void softTimeLimitRaisesInsideTheTask() {
        start(app.worker());
        AsyncResult r = app.task("t.soft").delay();
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class,
                e -> assertThat(e.excType()).isEqualTo("SoftTimeLimitExceeded"));
        assertThat(TestTasks.CLEANUPS).containsExactly(r.id());
    }

    @Test
    void hardTimeLimitFailsTheTaskAndFreesTheSlot() {
        start(app.worker().concurrency(1));
        AsyncResult stuck = app.task("t.hard").delay();
        assertThatThrownBy(() -> stuck.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class,
                e -> assertThat(e.excType()).isEqualTo("TimeLimitExceeded"));
        // The only slot was freed: another task runs while the abandoned thread is still spinning.
        AsyncResult next = app.task("t.add").delay(1, 1);
        assertThat(next.get(Duration.ofSeconds(1))).isEqualTo(2);
        assertThat(worker.abandonedThreads()).isEqualTo(1);
        await().atMost(WAIT).until(() -> worker.abandonedThreads() == 0);
        // The late return of the abandoned thread does not overwrite the failure.
        assertThat(stuck.state()).isEqualTo(TaskState.FAILURE);
    }

    @Test
    void expiredTasksAreRevokedWithoutRunning() {
        start(app.worker());
        AsyncResult r = app.applyAsync("t.add", List.of(1, 2), Map.of(),
                SendOptions.builder().expires(Instant.now().minusSeconds(1)).build());
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskRevokedException.class).hasMessageContaining("expired");
        assertThat(TestTasks.CALLS).doesNotContainKey("t.add");
    }

    @Test
    void revokedIdsAreSkipped() {
        start(app.worker());
        app.revoke("doomed-1", false);
        await().atMost(WAIT).until(() -> worker.revokedIds().contains("doomed-1"));
        AsyncResult r = app.applyAsync("t.add", List.of(1, 2), Map.of(),
                SendOptions.builder().taskId("doomed-1").build());
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskRevokedException.class);
        assertThat(TestTasks.CALLS).doesNotContainKey("t.add");
    }

    @Test
    void revokeWithTerminateStopsARunningTask() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        start(app.worker());
        AsyncResult r = app.task("t.block").delay("x");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        r.revoke(true);
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskRevokedException.class)
                .hasMessageContaining("terminated");
    }

    /**
     * On a clock the test moves: the countdown cannot come due while the other task runs, however slow the machine,
     * so "still pending" is checked, not raced.
     */
    @Test
    void countdownRunsLaterWithoutHoldingASlot() {
        io.celeriac.fixtures.MutableClock clock = new io.celeriac.fixtures.MutableClock(java.time.Instant.now());
        broker.close();
        broker = new InMemoryBroker(clock);
        app = Celeriac.builder().config(CeleriacConfig.builder().hostname("test@local").build()).broker(broker)
                .resultBackend(backend).clock(clock).register(new TestTasks()).build();
        start(app.worker().concurrency(1).prefetchMultiplier(1));
        AsyncResult later = app.applyAsync("t.add", List.of(1, 1), Map.of(),
                SendOptions.builder().countdown(Duration.ofSeconds(30)).build());
        AsyncResult now = app.task("t.add").delay(2, 2);
        assertThat(now.get(WAIT)).isEqualTo(4);
        // Held by the broker, not by the worker's only slot.
        await().atMost(WAIT).until(() -> broker.scheduledCount() == 1);
        assertThat(later.state()).isEqualTo(TaskState.PENDING);
        clock.advance(Duration.ofSeconds(31));
        assertThat(later.get(WAIT)).isEqualTo(2);
    }

    @Test
    void acksEarlyAcksBeforeRunningAndAcksLateAfter() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(2);
        start(app.worker().concurrency(2));
        AsyncResult early = app.task("t.block").delay("early");
        AsyncResult late = app.task("t.block_late").delay("late");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        // Both run; only the acks-late one is still unacked.
        await().atMost(WAIT).until(() -> broker.unackedCount() == 1);
        TestTasks.release.countDown();
        assertThat(early.get(WAIT)).isEqualTo("early");
        assertThat(late.get(WAIT)).isEqualTo("late");
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0);
    }

    @Test
    void acksLateTaskOfACrashedWorkerIsDeliveredAgain() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        Worker first = app.worker().concurrency(1).build().start();
        AsyncResult r = app.task("t.block_late").delay("again");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        // Cold shutdown while it runs: the message goes back to the queue instead of being lost.
        first.shutdownNow();
        assertThat(broker.queueLength("celery")).isEqualTo(1);
        TestTasks.started = new CountDownLatch(1);
        start(app.worker().concurrency(1));
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        TestTasks.release.countDown();
        assertThat(r.get(WAIT)).isEqualTo("again");
        assertThat(TestTasks.CALLS.get("t.block_late").get()).isEqualTo(2);
    }

    @Test
    void prefetchNeverHoardsMoreThanMultiplierTimesConcurrency() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(2);
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            results.add(app.task("t.block").delay("n" + i));
        }
        start(app.worker().concurrency(2).prefetchMultiplier(3));
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(WAIT).until(() -> worker.reserved().size() == 6);
        // Acked as they started (acks early), the 2 running tasks left the window, as Celery's prefetch counts
        // unacked messages: 6 = 3 x 2 reserved besides them, and the other 12 wait in the queue, for good.
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> worker.reserved().size() == 6
                && broker.queueLength("celery") == 12 && worker.inFlight() == 6);
        assertThat(worker.active()).hasSize(2);
        TestTasks.release.countDown();
        for (AsyncResult r : results) {
            r.get(WAIT);
        }
    }

    @Test
    void warmShutdownGivesReservedMessagesBackAndFinishesRunningOnes() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            results.add(app.task("t.block").delay("w" + i));
        }
        Worker w = app.worker().concurrency(1).prefetchMultiplier(4).build().start();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        // One running (acked, out of the window) and the other four reserved: 4 = 4 x 1.
        await().atMost(WAIT).until(() -> w.reserved().size() == 4);
        Thread releaser = new Thread(() -> {
            sleep(200);
            TestTasks.release.countDown();
        });
        releaser.start();
        w.shutdown(Duration.ofSeconds(10));
        assertThat(results.get(0).get(WAIT)).isEqualTo("w0");
        // The 4 reserved are back in the queue, nothing lost.
        assertThat(broker.queueLength("celery")).isEqualTo(4);
        start(app.worker().concurrency(2));
        for (AsyncResult r : results) {
            assertThat(r.get(WAIT)).isNotNull();
        }
        assertThat(TestTasks.CALLS.get("t.block").get()).isEqualTo(5);
    }

    @Test
    void maxTasksPerChildStopsTheWorkerCleanlyForItsSupervisor() throws Exception {
        Worker w = app.worker().concurrency(1).prefetchMultiplier(1).maxTasksPerChild(3).build().start();
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            results.add(app.task("t.add").delay(i, 0));
        }
        assertThat(w.awaitTermination(WAIT)).isTrue();
        assertThat(w.processedTotal()).isEqualTo(3);
        for (int i = 0; i < 3; i++) {
            assertThat(results.get(i).get(WAIT)).isEqualTo(i);
        }
        // The rest wait for the next worker process.
        assertThat(broker.queueLength("celery")).isEqualTo(3);
        start(app.worker());
        for (int i = 3; i < 6; i++) {
            assertThat(results.get(i).get(WAIT)).isEqualTo(i);
        }
    }

    /**
     * t.limited is limited to 20/s: one start per 50 ms of the worker's ticker, with no burst (kombu's bucket holds
     * one token). The ticker here only moves when the test moves it, so what is checked is the limit, not the speed
     * of the machine: nothing more starts while time stands still, one more per 50 ms, and a long pause earns one
     * start, not a burst.
     */
    @Test
    void rateLimitSpacesStartsOnTheWorkersClock() {
        java.util.concurrent.atomic.AtomicLong now = startOnAStillClock();
        List<AsyncResult> results = sendLimited(6);
        awaitStartsHolding(1);
        now.addAndGet(Duration.ofMillis(50).toNanos());
        awaitStartsHolding(2);
        now.addAndGet(Duration.ofMillis(20).toNanos());
        awaitStartsHolding(2);
        now.addAndGet(Duration.ofMillis(30).toNanos());
        awaitStartsHolding(3);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        awaitStartsHolding(4);
        for (int i = 5; i <= 6; i++) {
            now.addAndGet(Duration.ofMillis(50).toNanos());
            awaitStartsHolding(i);
        }
        results.forEach(r -> r.get(WAIT));
        assertThat(results).allSatisfy(r -> assertThat(r.successful()).isTrue());
    }

    /** Starts a worker of 4 threads whose rate limits read the returned clock (nanoseconds), which moves only when told. */
    private java.util.concurrent.atomic.AtomicLong startOnAStillClock() {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000_000L);
        start(app.worker().concurrency(4).ticker(now::get));
        return now;
    }

    private List<AsyncResult> sendLimited(int n) {
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            results.add(app.task("t.limited").delay());
        }
        return results;
    }

    /** Waits until {@code n} tasks started, then checks no further one starts while the ticker stands still. */
    private static void awaitStartsHolding(int n) {
        await().atMost(WAIT).until(() -> TestTasks.STARTS.size() >= n);
        // The dispatcher looks again every time the wait it computed elapses (50 ms at most here): 300 ms of
        // wall time gives it several chances to start one too many.
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
                .until(() -> TestTasks.STARTS.size() == n);
    }

    /** Requests waiting for a rate-limit token hold up no other task: one received after them runs meanwhile. */
    @Test
    void tasksReceivedAfterRateLimitedOnesWaitingForATokenRunMeanwhile() {
        java.util.concurrent.atomic.AtomicLong now = startOnAStillClock();
        List<AsyncResult> limited = sendLimited(3);
        awaitStartsHolding(1);
        assertThat(app.task("t.add").delay(2, 3).get(WAIT)).isEqualTo(5);
        assertThat(TestTasks.STARTS).as("the limited ones still wait for their tokens").hasSize(1);
        for (int started = 2; started <= 3; started++) {
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            awaitStartsHolding(started);
        }
        limited.forEach(r -> r.get(WAIT));
        assertThat(limited).allSatisfy(r -> assertThat(r.successful()).isTrue());
    }

    @Test
    void rateLimitCanBeChangedAtRunTime() {
        start(app.worker().concurrency(4));
        worker.setRateLimit("t.limited", null);
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            results.add(app.task("t.limited").delay());
        }
        results.forEach(r -> r.get(WAIT));
        assertThat(TestTasks.STARTS).hasSize(6);
    }

    @Test
    void statesStartedProgressAndSuccess() throws Exception {
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        start(app.worker());
        AsyncResult r = app.task("t.progress").delay();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(WAIT).until(() -> "PROGRESS".equals(r.state()));
        assertThat(r.result()).isEqualTo(Map.of("done", 1, "total", 2));
        TestTasks.release.countDown();
        assertThat(r.get(WAIT)).isEqualTo("finished");
    }

    @Test
    void startedStateIsStoredForTrackStarted() throws Exception {
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        InMemoryResultBackend inner = new InMemoryResultBackend();
        ResultBackend recording = new ResultBackend() {
            @Override
            public void store(List<ResultDocument> documents) {
                documents.forEach(d -> seen.add(d.status()));
                inner.store(documents);
            }

            @Override
            public java.util.Optional<ResultDocument> get(String taskId) {
                return inner.get(taskId);
            }

            @Override
            public java.util.Optional<ResultDocument> await(String taskId, Duration timeout)
                    throws InterruptedException {
                return inner.await(taskId, timeout);
            }

            @Override
            public void forget(java.util.Collection<String> taskIds) {
                inner.forget(taskIds);
            }
        };
        app = Celeriac.builder().config(CeleriacConfig.builder().build()).broker(broker).resultBackend(recording)
                .register(new TestTasks()).build();
        start(app.worker());
        AsyncResult r = app.task("t.progress").delay();
        TestTasks.release.countDown();
        assertThat(r.get(WAIT)).isEqualTo("finished");
        assertThat(seen).containsExactly("STARTED", "PROGRESS", "SUCCESS");
    }

    @Test
    void requestCarriesHostnameQueueAndRoot() {
        start(app.worker().hostname("w1@%h").queues("celery", "other"));
        AsyncResult r = app.applyAsync("t.echo_request", List.of(), Map.of(),
                SendOptions.builder().queue("other").taskId("req-1").build());
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) r.get(WAIT);
        assertThat(m).containsEntry("id", "req-1").containsEntry("queue", "other").containsEntry("root", "req-1")
                .containsEntry("retries", 0);
        assertThat((String) m.get("hostname")).startsWith("w1@");
    }

    @Test
    void poisonedMessagesGoToTheDeadLetterQueueAndTheWorkerKeepsGoing() {
        start(app.worker());
        DeadLetterQueue dlq = broker.deadLetterQueue().orElseThrow();
        BrokerMessage good = app.codec().encode(app.buildMessage("t.add", List.of(1, 2), Map.of(),
                SendOptions.none()));
        // Malformed JSON, an unknown task, a wrong argument count, a pickled body, a protocol v1 body.
        BrokerMessage badJson = BrokerMessage.json("{not json",
                Map.of("lang", "py", "task", "t.add", "id", "bad-json"), Map.of());
        broker.publish(new OutboundMessage("celery", 0, badJson, "bad-json", null));
        BrokerMessage unknownTask = app.codec().encode(
                app.buildMessage("nobody.knows", List.of(), Map.of(), SendOptions.none()));
        broker.publish(new OutboundMessage("celery", 0, unknownTask, "unknown", null));
        BrokerMessage wrongArgs = app.codec().encode(io.celeriac.protocol.TaskMessage.builder("t.add", "wrong-args")
                .args(List.of(1, 2, 3)).routingKey("celery").deliveryTag("dt-1").build());
        broker.publish(new OutboundMessage("celery", 0, wrongArgs, "wrong-args", null));
        BrokerMessage pickle = new BrokerMessage(good.body(), "application/x-python-serialize",
                good.contentEncoding(), good.headers(), good.properties());
        broker.publish(new OutboundMessage("celery", 0, pickle, "pickle", null));
        BrokerMessage v1 = BrokerMessage.json("{\"task\": \"t.add\", \"id\": \"v1\", \"args\": [1, 2], \"kwargs\": {}}",
                Map.of(), Map.of("delivery_tag", "v1-tag", "delivery_info",
                        Map.of("exchange", "", "routing_key", "celery")));
        broker.publish(new OutboundMessage("celery", 0, v1, "v1", null));
        AsyncResult after = app.task("t.add").delay(20, 22);

        assertThat(after.get(WAIT)).isEqualTo(42);
        await().atMost(WAIT).until(() -> dlq.list(10).size() == 5);
        assertThat(dlq.count()).isEqualTo(5);
        List<String> reasons = dlq.list(10).stream().map(DeadLetter::reason).toList();
        assertThat(reasons).anySatisfy(r -> assertThat(r).containsIgnoringCase("json"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("unregistered task").contains("nobody.knows"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("takes 2 argument(s) but 3 positional"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).containsIgnoringCase("pickle"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).containsIgnoringCase("protocol v1"));
        // The wrong-arguments task also fails visibly for its caller.
        assertThat(app.result("wrong-args").state()).isEqualTo(TaskState.FAILURE);
        // Dead letters keep the message unchanged so it can be requeued after a fix.
        DeadLetter unknown = dlq.list(10).stream().filter(d -> d.reason().contains("nobody.knows"))
                .findFirst().orElseThrow();
        assertThat(unknown.message()).isEqualTo(unknownTask);
        assertThat(unknown.queue()).isEqualTo("celery");
        worker.shutdown(Duration.ofSeconds(5));
        assertThat(dlq.requeue(unknown.id())).isTrue();
        assertThat(dlq.list(10)).hasSize(4);
        assertThat(broker.queueLength("celery")).isEqualTo(1);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
