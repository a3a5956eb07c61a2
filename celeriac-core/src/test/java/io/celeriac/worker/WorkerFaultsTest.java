package io.celeriac.worker;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.MutableClock;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.backend.ResultDocument;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskFailedException;
import io.celeriac.task.TaskRequest;
import io.celeriac.task.TaskRevokedException;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * What goes wrong around a task, and how the worker stays bounded and keeps going: expiry found late, listeners
 * that throw, failures with acks late, outages of the result backend and of the broker (at startup and mid-way),
 * and messages that must not run as they are.
 */
class WorkerFaultsTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private InMemoryBroker broker;
    private Celeriac app;
    private Worker worker;
    private java.util.Set<Thread> threadsBefore;

    @BeforeEach
    void setUp() {
        threadsBefore = Thread.getAllStackTraces().keySet();
        TestTasks.reset();
        broker = new InMemoryBroker();
    }

    @AfterEach
    void tearDown() {
        TestTasks.release.countDown();
        if (worker != null) {
            worker.shutdownNow();
        }
        broker.close();
    }

    private static CeleriacConfig.Builder config() {
        return CeleriacConfig.builder().hostname("faults@test");
    }

    private Celeriac app(CeleriacConfig config, Broker b, ResultBackend backend) {
        return Celeriac.builder().config(config).broker(b).resultBackend(backend).register(new TestTasks()).build();
    }

    private DeadLetterQueue deadLetters() {
        return broker.deadLetterQueue().orElseThrow();
    }

    /**
     * A message the worker cannot read: it names a task and an id, but its body is not JSON. It is dead-lettered
     * with a reason; the worker goes on.
     */
    private static BrokerMessage poison() {
        return BrokerMessage.json("{not json", Map.of("lang", "py", "task", "t.add", "id", "poison"), Map.of());
    }

    private Worker start(Worker.Builder b) {
        worker = b.start();
        return worker;
    }

    // ------------------------------------------------------------------ expiry checked again before the start

    @Test
    void aTaskThatExpiresWhileWaitingForASlotIsRevokedWithoutRunning() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T12:00:00Z"));
        app = Celeriac.builder().config(config().build()).broker(broker).resultBackend(new InMemoryResultBackend())
                .clock(clock).register(new TestTasks()).build();
        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        start(app.worker().concurrency(1).prefetchMultiplier(2));
        AsyncResult busy = app.task("t.block").delay("busy");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();

        // Received in time (it waits for the only slot), expired by the time the slot is free.
        AsyncResult late = app.applyAsync("t.add", List.of(1, 2), Map.of(),
                SendOptions.builder().expires(clock.instant().plusSeconds(1)).build());
        await().atMost(WAIT).until(() -> worker.reserved().size() == 1);
        clock.advance(Duration.ofSeconds(3));
        TestTasks.release.countDown();

        assertThat(busy.get(WAIT)).isEqualTo("busy");
        assertThatThrownBy(() -> late.get(WAIT)).isInstanceOf(TaskRevokedException.class)
                .hasMessageContaining("expired");
        assertThat(TestTasks.CALLS).doesNotContainKey("t.add");
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
    }

    // ------------------------------------------------------------------ listeners

    @Test
    void aListenerThatThrowsInEveryCallbackChangesNothing() {
        AtomicInteger calls = new AtomicInteger();
        WorkerListener broken = new WorkerListener() {
            private void fail() {
                calls.incrementAndGet();
                throw new IllegalStateException("listener bug");
            }

            @Override public void workerReady(Worker w) { fail(); }
            @Override public void workerStopped(Worker w) { fail(); }
            @Override public void taskReceived(TaskRequest r) { fail(); }
            @Override public void taskStarted(TaskRequest r) { fail(); }
            @Override public void taskSucceeded(TaskRequest r, Object result, Duration d) { fail(); }
            @Override public void taskFailed(TaskRequest r, Throwable e, Duration d) { fail(); }
            @Override public void taskRetried(TaskRequest r, Throwable e, Duration d) { fail(); }
            @Override public void taskRevoked(TaskRequest r, boolean t, boolean x) { fail(); }
            @Override public void taskRejected(String q, TaskRequest r, String why) { fail(); }
        };
        app = app(config().build(), broker, new InMemoryResultBackend());
        // One slot and one permit: a single leaked slot or permit would stop everything after it.
        start(app.worker().concurrency(1).prefetchMultiplier(1).listener(broken));

        List<AsyncResult> sums = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            sums.add(app.task("t.add").delay(i, i));
        }
        AsyncResult failing = app.task("t.boom").delay("as planned");
        AsyncResult retried = app.task("t.flaky").delay(1);
        AsyncResult expired = app.applyAsync("t.add", List.of(0, 0), Map.of(),
                SendOptions.builder().expires(Instant.now().minusSeconds(5)).build());
        broker.publish(new OutboundMessage("celery", 0, poison(), "poison", null));
        AsyncResult last = app.task("t.add").delay(20, 22);

        for (int i = 0; i < 5; i++) {
            assertThat(sums.get(i).get(WAIT)).isEqualTo(2 * i);
        }
        assertThatThrownBy(() -> failing.get(WAIT)).isInstanceOf(TaskFailedException.class);
        assertThat(retried.get(WAIT)).isEqualTo("ok after 1 retries");
        assertThatThrownBy(() -> expired.get(WAIT)).isInstanceOf(TaskRevokedException.class);
        assertThat(last.get(WAIT)).isEqualTo(42);
        await().atMost(WAIT).until(() -> deadLetters().count() == 1);
        await().atMost(WAIT).until(() -> worker.inFlight() == 0 && broker.unackedCount() == 0);
        assertThat(calls.get()).as("the listener was called, and threw, all along").isGreaterThan(20);
    }

    // ------------------------------------------------------------------ reject semantics

    @Test
    void aFailedAcksLateTaskWithoutAcksOnFailureIsDeadLetteredOnceNotRequeuedInALoop() {
        AtomicInteger runs = new AtomicInteger();
        app = app(config().acksLate(true).acksOnFailureOrTimeout(false).build(), broker, new InMemoryResultBackend());
        app.register(TaskDefinition.of("t.always_fails", (ctx, args, kwargs) -> {
            runs.incrementAndGet();
            throw new IllegalStateException("cannot do it");
        }));
        start(app.worker().concurrency(1).prefetchMultiplier(1));

        AsyncResult r = app.task("t.always_fails").delay();
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class,
                e -> assertThat(e.excMessage()).isEqualTo("cannot do it"));
        await().atMost(WAIT).until(() -> deadLetters().count() == 1);
        DeadLetter dead = deadLetters().list(1).get(0);
        assertThat(dead.reason()).contains(r.id()).contains("task_acks_on_failure_or_timeout")
                .contains("without requeue").contains("cannot do it");
        assertThat(app.codec().decode(dead.message()).id()).isEqualTo(r.id());

        // Later work runs, and the failed one never came back.
        assertThat(app.task("t.add").delay(1, 1).get(WAIT)).isEqualTo(2);
        assertThat(runs.get()).isEqualTo(1);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && broker.queueLength("celery") == 0);
        assertThat(r.state()).isEqualTo(TaskState.FAILURE);
    }

    // ------------------------------------------------------------------ result backend outage

    @ParameterizedTest(name = "acks late: {0}")
    @ValueSource(booleans = {true, false})
    void aBackendOutageHoldsTheWindowWithAcksLateAndOnlyTheResultsWithAcksEarly(boolean acksLate) {
        FaultyBackend backend = new FaultyBackend();
        backend.down = true;
        app = app(config().acksLate(acksLate).build(), broker, backend);
        start(app.worker().concurrency(2).prefetchMultiplier(2));
        int window = 4;
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            results.add(app.task("t.add").delay(i, 1));
        }

        if (acksLate) {
            // The window's four tasks ran; their results cannot be written, so they keep their messages unacked and
            // their permits, and nothing more is taken from the queue while the backend stays down.
            await().atMost(WAIT).until(() -> worker.processedTotal() == window);
            await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> worker.processedTotal() == window
                    && broker.queueLength("celery") == 20 - window && worker.inFlight() == window);
            assertThat(broker.unackedCount()).isEqualTo(window);
        } else {
            // Acked as they start (Celery's default), tasks leave the window with their ack, as Celery's prefetch
            // counts unacked messages: all twenty run, and their results wait in the completer's bounded queue.
            await().atMost(WAIT).until(() -> worker.processedTotal() == 20 && broker.queueLength("celery") == 0);
            assertThat(broker.unackedCount()).isZero();
            assertThat(results.get(0).state()).isEqualTo("PENDING");
        }

        backend.down = false;
        for (int i = 0; i < 20; i++) {
            assertThat(results.get(i).get(WAIT)).isEqualTo(i + 1);
        }
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
    }

    // ------------------------------------------------------------------ broker trouble mid-way

    @Test
    void resultsTheBrokerRefusesToWriteWithItsAcksAreStoredByTheResultsThreadAndEveryMessageSettled() {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.storesResults = true;
        faulty.combinedRefusals.set(3);
        app = app(config().acksLate(true).build(), faulty, new InMemoryResultBackend());
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            results.add(app.task("t.add").delay(i, 1));
        }
        // A backlog from the start: finished tasks hand their results and acks to the consumer's next reserve.
        start(app.worker().concurrency(4).prefetchMultiplier(1));
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).get(WAIT)).isEqualTo(i + 1);
        }
        assertThat(faulty.combinedRefused.get()).as("combined writes refused").isEqualTo(3);
        assertThat(faulty.combinedWrites.get()).as("combined writes in all").isGreaterThan(3);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
        assertThat(broker.queueLength("celery")).isZero();
        assertThat(TestTasks.CALLS.get("t.add").get()).as("each task ran once").isEqualTo(300);
        // The window is whole again: as many tasks as it holds run at once.
        assertThat(app.task("t.add").delay(1, 1).get(WAIT)).isEqualTo(2);
    }

    /**
     * With two reserves under way, one that fails gives its places back and its results and acks are written with a
     * later call, while the other's messages are received as usual: every task runs once, every message is settled,
     * the window is whole again.
     */
    @ParameterizedTest(name = "acks late: {0}")
    @ValueSource(booleans = {true, false})
    void withTwoReservesUnderWayOneThatFailsLosesNothingAndRunsNothingTwice(boolean acksLate) {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.storesResults = true;
        faulty.reservesUnderWay = 2;
        faulty.aheadOutageEvery = 7;
        app = app(config().acksLate(acksLate).build(), faulty, new InMemoryResultBackend());
        List<AsyncResult> results = new ArrayList<>();
        for (int i = 0; i < 1500; i++) {
            results.add(app.task("t.add").delay(i, 1));
        }
        // A window of 32 and a backlog from the start: the consumer keeps reserves under way. Receiving is slowed
        // (a millisecond a task, on the consumer thread) so that places free up while each batch is dispatched, which
        // is when a second call goes, however this machine schedules the threads.
        WorkerListener slowReceiving = new WorkerListener() {
            @Override
            public void taskReceived(TaskRequest r) {
                Worker.sleepQuietly(1);
            }
        };
        start(app.worker().concurrency(8).prefetchMultiplier(4).listener(slowReceiving));
        for (int i = 0; i < results.size(); i++) {
            assertThat(results.get(i).get(WAIT)).isEqualTo(i + 1);
        }
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
        assertThat(faulty.mostAheadUnderWay.get()).as("two reserves were under way at once").isEqualTo(2);
        assertThat(faulty.aheadFailed.get()).as("reserves that failed").isGreaterThan(0);
        assertThat(broker.queueLength("celery")).isZero();
        assertThat(TestTasks.CALLS.get("t.add").get()).as("each task ran once").isEqualTo(1500);
        assertThat(app.task("t.add").delay(1, 1).get(WAIT)).isEqualTo(2);
    }

    /**
     * Final results are stored a few batches at a time: while one batch's store is under way, later tasks run and
     * their results are stored and their messages acked; the held batch's message stays unacked until its own
     * result is stored.
     */
    @Test
    void laterResultsAreStoredAndAckedWhileAnEarlierStoreIsUnderWayWhoseMessageWaitsForIt() throws Exception {
        java.util.concurrent.CompletableFuture<Void> gate = new java.util.concurrent.CompletableFuture<>();
        List<String> heldIds = new java.util.concurrent.CopyOnWriteArrayList<>();
        FaultyBackend backend = new FaultyBackend() {
            @Override
            public java.util.concurrent.CompletableFuture<Void> storeAsync(List<ResultDocument> documents) {
                if (heldIds.isEmpty()) {
                    documents.forEach(d -> heldIds.add(d.taskId()));
                    return gate.thenRun(() -> inner.store(documents));
                }
                return super.storeAsync(documents);
            }
        };
        app = app(config().acksLate(true).build(), broker, backend);
        AsyncResult first = app.task("t.add").delay(0, 1);
        start(app.worker().concurrency(4).prefetchMultiplier(1));
        await().atMost(WAIT).until(() -> !heldIds.isEmpty());
        assertThat(heldIds).containsExactly(first.id());

        List<AsyncResult> later = new ArrayList<>();
        for (int i = 1; i <= 40; i++) {
            later.add(app.task("t.add").delay(i, 1));
        }
        for (int i = 0; i < later.size(); i++) {
            assertThat(later.get(i).get(WAIT)).isEqualTo(i + 2);
        }
        await().atMost(WAIT).until(() -> broker.unackedCount() == 1);
        assertThat(backend.inner.get(first.id())).as("the held store is still under way").isEmpty();

        gate.complete(null);
        assertThat(first.get(WAIT)).isEqualTo(1);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
        assertThat(TestTasks.CALLS.get("t.add").get()).as("each task ran once").isEqualTo(41);
    }

    @Test
    void aMessageThatCannotBeDeadLetteredGoesBackToItsQueueAndIsDeadLetteredOnceTheBrokerAnswers() {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.deadLetterDown = true;
        app = app(config().build(), faulty, new InMemoryResultBackend());
        start(app.worker().concurrency(1).prefetchMultiplier(1));
        broker.publish(new OutboundMessage("celery", 0, poison(), "poison", null));

        // Not left reserved in the worker: it is handed back and tried again.
        await().atMost(WAIT).until(() -> faulty.deadLetterAttempts.get() >= 2);
        faulty.deadLetterDown = false;
        await().atMost(WAIT).until(() -> deadLetters().count() == 1);
        assertThat(deadLetters().list(1).get(0).reason()).containsIgnoringCase("json");

        // The one permit came back: the next task runs.
        assertThat(app.task("t.add").delay(2, 3).get(WAIT)).isEqualTo(5);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
    }

    @Test
    void aMessageThatCannotBeDeferredGoesBackToItsQueueAndRunsWhenDue() {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.deferFailures.set(2);
        app = app(config().build(), faulty, new InMemoryResultBackend());
        start(app.worker().concurrency(1).prefetchMultiplier(1));
        // Queued at once with its ETA still ahead (as a producer without broker-side ETA sends it), so the worker
        // has to hand it to the broker's schedule.
        BrokerMessage payload = app.codec().encode(app.buildMessage("t.add", List.of(4, 5), Map.of(),
                SendOptions.builder().taskId("deferred").countdown(Duration.ofMillis(300)).build()));
        broker.publish(new OutboundMessage("celery", 0, payload, "deferred", null));
        AsyncResult later = app.result("deferred");

        assertThat(later.get(WAIT)).isEqualTo(9);
        // Two refused hand-overs, then either the third went through or the ETA had passed by then.
        assertThat(faulty.deferAttempts.get()).isGreaterThanOrEqualTo(2);
        assertThat(app.task("t.add").delay(1, 1).get(WAIT)).isEqualTo(2);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
    }

    // ------------------------------------------------------------------ startup while the broker is down

    @Test
    void withoutRetryOnStartupStartFailsAtOnceWithAClearMessage() throws Exception {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.startupDown = true;
        app = app(config().brokerUrl("redis://:s3cret@broker.internal:6379/0").brokerConnectionRetryOnStartup(false)
                .build(), faulty, new InMemoryResultBackend());
        Worker w = app.worker().build();

        assertThatThrownBy(w::start).isInstanceOfSatisfying(BrokerUnavailableException.class, e -> assertThat(
                e.getMessage()).contains("Cannot reach the broker at redis://:***@broker.internal:6379/0")
                .contains("Connection refused").contains("broker_connection_retry_on_startup is off")
                .doesNotContain("s3cret"));
        assertThat(faulty.declareAttempts.get()).isEqualTo(1);
        assertThat(w.awaitTermination(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> celeriacThreads().isEmpty());
    }

    @Test
    void maxRetriesZeroGivesUpAtTheFirstFailureAsKombuCounts() {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.startupDown = true;
        app = app(config().brokerConnectionMaxRetries(0).build(), faulty, new InMemoryResultBackend());

        assertThatThrownBy(() -> app.worker().start()).isInstanceOf(BrokerUnavailableException.class)
                .hasMessageContaining("gave up after 0 retries (broker_connection_max_retries=0)");
        assertThat(faulty.declareAttempts.get()).isEqualTo(1);
    }

    @Test
    void startWaitsForTheBrokerLoggingEachAttemptThenConsumes() throws Exception {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.startupDown = true;
        app = app(config().build(), faulty, new InMemoryResultBackend());
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger workerLog = (Logger) LoggerFactory.getLogger("celeriac.worker");
        logs.start();
        workerLog.addAppender(logs);
        try {
            AtomicReference<Worker> started = new AtomicReference<>();
            Thread starter = new Thread(() -> started.set(app.worker().start()), "test-starter");
            starter.start();
            await().atMost(WAIT).until(() -> faulty.declareAttempts.get() >= 1);
            assertThat(started.get()).as("start() blocks while the broker is down").isNull();
            faulty.startupDown = false;
            starter.join(WAIT.toMillis());
            worker = started.get();
            assertThat(worker).isNotNull();

            assertThat(app.task("t.add").delay(2, 2).get(WAIT)).isEqualTo(4);
            assertThat(logs.list).map(ILoggingEvent::getFormattedMessage).anySatisfy(m -> assertThat(m)
                    .isEqualTo("Cannot reach the broker at memory:// (Connection refused); retrying in 2 s (1/100)"));
        } finally {
            workerLog.detachAppender(logs);
        }
    }

    @Test
    void aShutdownEndsAStartupThatIsWaitingForTheBroker() throws Exception {
        FaultyBroker faulty = new FaultyBroker(broker);
        faulty.startupDown = true;
        app = app(config().brokerConnectionMaxRetries(null).build(), faulty, new InMemoryResultBackend());
        Worker w = app.worker().build();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread starter = new Thread(() -> {
            try {
                w.start();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "test-starter");
        starter.start();
        await().atMost(WAIT).until(() -> faulty.declareAttempts.get() >= 1);

        w.shutdown(Duration.ofSeconds(5));
        starter.join(WAIT.toMillis());
        assertThat(starter.isAlive()).isFalse();
        assertThat(failure.get()).isNull();
        assertThat(w.awaitTermination(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> celeriacThreads().isEmpty());
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void invalidUtf8InAnArgumentIsDeadLetteredWithItsOffsetNotRunWithReplacementCharacters() {
        app = app(config().build(), broker, new InMemoryResultBackend());
        start(app.worker().concurrency(1).prefetchMultiplier(1));
        BrokerMessage good = app.codec().encode(app.buildMessage("t.block", List.of("caf\u00e9!"), Map.of(),
                SendOptions.builder().taskId("bad-utf8").build()));
        byte[] body = good.body().clone();
        // "café!" is 63 61 66 C3 A9 21: make it 63 61 66 C3 28 21, a lead byte followed by no continuation byte.
        int at = indexOf(body, new byte[] {(byte) 0xC3, (byte) 0xA9});
        body[at + 1] = '(';
        BrokerMessage bad = new BrokerMessage(body, good.contentType(), good.contentEncoding(), good.headers(),
                good.properties());
        broker.publish(new OutboundMessage("celery", 0, bad, "bad-utf8", null));
        AsyncResult after = app.task("t.add").delay(1, 2);

        assertThat(after.get(WAIT)).isEqualTo(3);
        await().atMost(WAIT).until(() -> deadLetters().count() == 1);
        assertThat(deadLetters().list(1).get(0).reason()).contains("not valid UTF-8")
                .contains("byte offset " + at);
        assertThat(TestTasks.CALLS).doesNotContainKey("t.block");
        await().atMost(WAIT).until(() -> worker.inFlight() == 0 && broker.unackedCount() == 0);
    }

    @Test
    void aMessageOverTheSizeLimitIsDeadLetteredUnparsedAndTheWorkerGoesOn() {
        app = app(config().maxMessageBytes(4096).build(), broker, new InMemoryResultBackend());
        start(app.worker().concurrency(1).prefetchMultiplier(1));
        AsyncResult big = app.task("t.block").delay("x".repeat(5000));
        AsyncResult small = app.task("t.add").delay(3, 4);

        assertThat(small.get(WAIT)).isEqualTo(7);
        await().atMost(WAIT).until(() -> deadLetters().count() == 1);
        DeadLetter dead = deadLetters().list(1).get(0);
        assertThat(dead.reason()).contains("exceeds the limit of 4096 bytes").contains("celeriac_max_message_bytes")
                .contains("not parsed");
        assertThat(dead.message()).as("the message is kept").isNotNull();
        assertThat(dead.message().headers()).as("the message is kept").containsEntry("id", big.id());
        assertThat(dead.message().body()).as("the message is kept whole").hasSizeGreaterThan(4096);
        assertThat(TestTasks.CALLS).doesNotContainKey("t.block");
        await().atMost(WAIT).until(() -> worker.inFlight() == 0 && broker.unackedCount() == 0);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found: " + new String(needle, StandardCharsets.ISO_8859_1));
    }

    /** Worker threads started by this test and still alive (the in-memory broker's own thread aside). */
    private List<String> celeriacThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> !threadsBefore.contains(t))
                .filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("celeriac-") && !n.startsWith("celeriac-memory")).toList();
    }
}
