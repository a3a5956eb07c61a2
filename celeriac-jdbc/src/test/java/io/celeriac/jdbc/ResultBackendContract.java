package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ChordCounter.Part;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.canvas.CanvasTasks;
import io.celeriac.fixtures.MutableClock;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import io.celeriac.task.TaskFailedException;
import io.celeriac.backend.TaskState;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The JDBC result backend on a database, chord counting included; run against H2, PostgreSQL and MariaDB. */
abstract class ResultBackendContract {
    protected final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00Z"));

    /** A backend on an empty schema with results kept for one hour, using {@link #clock}. */
    abstract JdbcResultBackend backend();

    @Test
    void storesReadsReplacesAndForgets() {
        JdbcResultBackend b = backend();
        ResultDocument started = ResultDocument.of("t1", TaskState.STARTED, Map.of("pid", 1));
        ResultDocument done = new ResultDocument("t1", TaskState.SUCCESS, Map.of("x", List.of(1, "two")), null,
                List.of(), Instant.parse("2026-11-24T10:00:01.123456Z"), "parent-1", Map.of("name", "t.add"));
        b.store(List.of(started, done));
        assertThat(b.get("t1")).contains(done);
        b.forget("t1");
        assertThat(b.get("t1")).isEmpty();
    }

    @Test
    void awaitSeesAResultStoredLater() throws Exception {
        JdbcResultBackend b = backend();
        java.util.concurrent.FutureTask<Optional<ResultDocument>> waiting = io.celeriac.fixtures.BlockingCall
                .startAndAwaitBlocked("result-wait", () -> b.await("later", Duration.ofSeconds(20)));
        b.store(ResultDocument.of("later", TaskState.SUCCESS, 42));
        assertThat(waiting.get(10, TimeUnit.SECONDS)).get().extracting(ResultDocument::result).isEqualTo(42);
    }

    @Test
    void resultsExpire() {
        JdbcResultBackend b = backend();
        b.store(ResultDocument.of("old", TaskState.SUCCESS, 1));
        clock.advance(Duration.ofMinutes(59));
        assertThat(b.get("old")).isPresent();
        clock.advance(Duration.ofMinutes(2));
        assertThat(b.get("old")).isEmpty();
        assertThat(b.deleteExpired()).isEqualTo(1);
    }

    @Test
    void queriesByStateNameAndDate() {
        JdbcResultBackend b = backend();
        b.store(List.of(
                new ResultDocument("a", TaskState.SUCCESS, 1, null, List.of(), Instant.parse("2026-11-24T09:00:00Z"),
                        null, Map.of("name", "orders.send_invoice_email")),
                new ResultDocument("b", TaskState.FAILURE, Map.of("exc_type", "X", "exc_message", List.of("m"),
                        "exc_module", "y"), "tb", List.of(), Instant.parse("2026-11-24T09:30:00Z"), null,
                        Map.of("name", "orders.render_pdf")),
                new ResultDocument("c", TaskState.SUCCESS, 3, null, List.of(), Instant.parse("2026-11-24T09:45:00Z"),
                        null, Map.of("name", "orders.render_pdf"))));
        assertThat(b.query(TaskState.SUCCESS, null, null, 10)).extracting(ResultDocument::taskId)
                .containsExactly("c", "a");
        assertThat(b.query(null, "orders.render_pdf", null, 10)).extracting(ResultDocument::taskId)
                .containsExactly("c", "b");
        assertThat(b.query(null, null, Instant.parse("2026-11-24T09:20:00Z"), 1)).extracting(ResultDocument::taskId)
                .containsExactly("c");
    }

    @Test
    void aWorkerStoresItsResultsThere() {
        JdbcResultBackend b = backend();
        TestTasks.reset();
        try (InMemoryBroker broker = new InMemoryBroker()) {
            Celeriac app = Celeriac.builder().broker(broker).resultBackend(b).register(new TestTasks()).build();
            Worker w = app.worker().start();
            try {
                AsyncResult ok = app.task("t.add").delay(2, 3);
                AsyncResult bad = app.task("t.boom").delay("in the database");
                assertThat(ok.get(Duration.ofSeconds(10))).isEqualTo(5);
                assertThatThrownBy(() -> bad.get(Duration.ofSeconds(10))).isInstanceOf(TaskFailedException.class)
                        .hasMessageContaining("in the database");
                assertThat(bad.traceback()).contains("IllegalStateException");
            } finally {
                w.shutdown(Duration.ofSeconds(5));
            }
        }
    }

    // ------------------------------------------------------------------ chords (ChordCounter)

    private static final String OK = TaskState.SUCCESS;

    private static List<Integer> shuffled(int n, long seed) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(seed));
        return order;
    }

    /** The parts of a chord of {@code n} whose part i is task {@code <group>-i} with result {@code {"n": i * 10}}. */
    private static List<Part> expectedParts(String groupId, int n) {
        List<Part> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            parts.add(new Part(groupId + "-" + i, OK, Map.of("n", i * 10)));
        }
        return parts;
    }

    private static Optional<List<Part>> finish(ChordCounter chords, String groupId, int i) {
        return chords.partDone(groupId, groupId + "-" + i, i, OK, Map.of("n", i * 10));
    }

    @Test
    void aChordCompletesOnlyOnItsLastPartWithEveryPartInGroupOrder() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            for (long seed = 1; seed <= 3; seed++) {
                String g = "g" + seed;
                chords.setSize(g, 12);
                List<Integer> order = shuffled(12, seed);
                for (int k = 0; k < 11; k++) {
                    assertThat(finish(chords, g, order.get(k))).as("part %d of %s", k, order).isEmpty();
                }
                assertThat(finish(chords, g, order.get(11))).contains(expectedParts(g, 12));
            }
        }
    }

    @Test
    void partsComeBackAsRecordedWithPartsWithoutAnIndexLast() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("exc_type", "ValueError");
            error.put("exc_message", List.of("bad \u00e9"));
            error.put("exc_module", "builtins");
            chords.setSize("g", 4);
            assertThat(chords.partDone("g", "no-index", null, OK, "last")).isEmpty();
            assertThat(chords.partDone("g", "second", 1, TaskState.FAILURE, error)).isEmpty();
            assertThat(chords.partDone("g", "third", 2, TaskState.REVOKED, null)).isEmpty();
            assertThat(chords.partDone("g", "first", 0, OK, List.of(1, "two", 3.5, true))).contains(List.of(
                    new Part("first", OK, List.of(1, "two", 3.5, true)),
                    new Part("second", TaskState.FAILURE, error),
                    new Part("third", TaskState.REVOKED, null),
                    new Part("no-index", OK, "last")));
        }
    }

    @Test
    void aPartRecordedAgainCountsOnceAndItsLatestRecordWins() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            chords.setSize("g", 3);
            assertThat(chords.partDone("g", "a", 0, TaskState.FAILURE, Map.of("exc_type", "WorkerLostError")))
                    .isEmpty();
            // The same task again (its message redelivered): it replaces its first record and counts once.
            assertThat(chords.partDone("g", "a", 0, OK, "second run")).isEmpty();
            assertThat(chords.partDone("g", "b", 1, OK, "b")).isEmpty();
            assertThat(chords.partDone("g", "c", 2, OK, "c")).contains(List.of(new Part("a", OK, "second run"),
                    new Part("b", OK, "b"), new Part("c", OK, "c")));
        }
    }

    @Test
    void aRepeatAfterCompletionSeesTheChordCompleteUntilItIsForgotten() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            chords.setSize("g", 2);
            assertThat(finish(chords, "g", 0)).isEmpty();
            List<Part> all = finish(chords, "g", 1).orElseThrow();
            // The worker that completed it may have died before sending the body: a repeat sends it (same id).
            assertThat(finish(chords, "g", 1)).contains(all);
            chords.forget("g");
            // Once the body was sent and the chord forgotten, a repeat finds no chord and sends nothing.
            assertThat(finish(chords, "g", 1)).isEmpty();
            assertThat(finish(chords, "g", 0)).isEmpty();
        }
    }

    @Test
    void aPartBeforeTheSizeIsRecordedAndCounted() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            assertThat(finish(chords, "g", 1)).isEmpty();
            assertThat(finish(chords, "g", 2)).isEmpty();
            chords.setSize("g", 3);
            // Written again (the message that sends the chord redelivered): no harm.
            chords.setSize("g", 3);
            assertThat(finish(chords, "g", 0)).contains(expectedParts("g", 3));
        }
    }

    @Test
    void partsArrivingTogetherBeforeTheSizeAllCount() throws Exception {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                for (int round = 0; round < 5; round++) {
                    String g = "early" + round;
                    // Eight parts at once find no chord yet: one creates it, the others wait for it and count in.
                    CyclicBarrier together = new CyclicBarrier(8);
                    List<Future<Optional<List<Part>>>> early = new ArrayList<>();
                    for (int t = 0; t < 8; t++) {
                        int i = t;
                        early.add(pool.submit(() -> {
                            together.await();
                            return finish(chords, g, i);
                        }));
                    }
                    for (Future<Optional<List<Part>>> f : early) {
                        assertThat(f.get(60, TimeUnit.SECONDS)).isEmpty();
                    }
                    chords.setSize(g, 9);
                    assertThat(finish(chords, g, 8)).as("round %d", round).contains(expectedParts(g, 9));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void forgetDeletesTheChordAndItsPartsOnly() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            chords.setSize("gone", 2);
            chords.setSize("kept", 2);
            assertThat(finish(chords, "gone", 0)).isEmpty();
            assertThat(finish(chords, "kept", 0)).isEmpty();
            chords.forget("gone");
            chords.forget("never-sent");
            // The size and the recorded part went with it: part 1 alone completes nothing.
            assertThat(finish(chords, "gone", 1)).isEmpty();
            chords.setSize("gone", 2);
            assertThat(finish(chords, "gone", 0)).contains(expectedParts("gone", 2));
            assertThat(finish(chords, "kept", 1)).contains(expectedParts("kept", 2));
        }
    }

    @Test
    void eightThreadsFinishingTwoHundredPartsCompleteTheChordExactlyOnce() throws Exception {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                for (int round = 0; round < 5; round++) {
                    String g = "race" + round;
                    chords.setSize(g, 200);
                    List<Integer> order = shuffled(200, round);
                    // Each thread finishes its 25 parts; the last eight go at once, so the race is at the end.
                    CyclicBarrier start = new CyclicBarrier(8);
                    CyclicBarrier last = new CyclicBarrier(8);
                    ConcurrentLinkedQueue<List<Part>> completions = new ConcurrentLinkedQueue<>();
                    List<Future<?>> threads = new ArrayList<>();
                    for (int t = 0; t < 8; t++) {
                        int thread = t;
                        threads.add(pool.submit(() -> {
                            start.await();
                            for (int k = thread; k < order.size(); k += 8) {
                                if (k + 8 >= order.size()) {
                                    last.await();
                                }
                                finish(chords, g, order.get(k)).ifPresent(completions::add);
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : threads) {
                        f.get(120, TimeUnit.SECONDS);
                    }
                    assertThat(completions).as("round %d", round).hasSize(1);
                    assertThat(completions.peek()).isEqualTo(expectedParts(g, 200));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void interleavedChordsEachCompleteOnceWithTheirOwnParts() throws Exception {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            int[] sizes = {1, 2, 7, 30, 60};
            List<String[]> parts = new ArrayList<>();
            for (int c = 0; c < sizes.length; c++) {
                chords.setSize("chord" + c, sizes[c]);
                for (int i = 0; i < sizes[c]; i++) {
                    parts.add(new String[] {"chord" + c, Integer.toString(i)});
                }
            }
            Collections.shuffle(parts, new Random(7));
            Map<String, List<Part>> completed = new ConcurrentHashMap<>();
            AtomicInteger completions = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> threads = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    threads.add(pool.submit(() -> {
                        for (int k = thread; k < parts.size(); k += 4) {
                            String g = parts.get(k)[0];
                            finish(chords, g, Integer.parseInt(parts.get(k)[1])).ifPresent(all -> {
                                completions.incrementAndGet();
                                completed.put(g, all);
                            });
                        }
                        return null;
                    }));
                }
                for (Future<?> f : threads) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(completions).hasValue(sizes.length);
            for (int c = 0; c < sizes.length; c++) {
                assertThat(completed.get("chord" + c)).isEqualTo(expectedParts("chord" + c, sizes[c]));
            }
        }
    }

    @Test
    void chordsUntouchedForTheResultExpiryAreDeleted() {
        try (JdbcResultBackend b = backend()) {
            ChordCounter chords = b.chords().orElseThrow();
            chords.setSize("idle", 2);
            assertThat(finish(chords, "idle", 0)).isEmpty();
            chords.setSize("busy", 3);
            clock.advance(Duration.ofMinutes(50));
            // Every write moves the chord's expiry on, as Redis refreshes its keys' TTL.
            assertThat(finish(chords, "busy", 0)).isEmpty();
            clock.advance(Duration.ofMinutes(50));
            assertThat(finish(chords, "busy", 1)).isEmpty();
            clock.advance(Duration.ofMinutes(20));
            assertThat(b.deleteExpired()).isEqualTo(1);
            assertThat(b.deleteExpired()).isZero();
            assertThat(finish(chords, "idle", 1)).as("the idle chord's size and part are gone").isEmpty();
            assertThat(finish(chords, "busy", 2)).contains(expectedParts("busy", 3));
        }
    }

    @Test
    void aWorkerRunsAChordThere() {
        CanvasTasks.reset();
        try (JdbcResultBackend b = backend(); InMemoryBroker broker = new InMemoryBroker()) {
            Celeriac app = Celeriac.builder().broker(broker).resultBackend(b).register(new CanvasTasks()).build();
            Worker w = app.worker().concurrency(4).start();
            GroupResult group;
            try {
                List<Canvas> header = new ArrayList<>();
                List<Object> expected = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    header.add(app.signature("c.add", i, 100));
                    expected.add(i + 100);
                }
                AsyncResult body = Canvas.chord(header, app.signature("c.collect")).applyAsync();
                assertThat(body.get(Duration.ofSeconds(30))).isEqualTo(expected);
                group = (GroupResult) body.parent().orElseThrow();
                await().atMost(Duration.ofSeconds(30)).until(() -> w.processed().getOrDefault("c.collect", 0L) == 1L);
            } finally {
                // Warm shutdown: the completer writes what it holds, the chord's forget included.
                w.shutdown(Duration.ofSeconds(5));
            }
            assertThat(w.processed().get("c.collect")).isEqualTo(1L);
            // The chord's records went once the body was sent: a late repeat of a part completes nothing.
            assertThat(b.chords().orElseThrow().partDone(group.id(), group.results().get(0).id(), 0, OK, 100))
                    .isEmpty();
        }
    }
}
