package io.celeriac.dashboard;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.celeriac.dashboard.TaskHistoryTest.event;
import static io.celeriac.dashboard.TaskHistoryTest.lifecycle;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What every {@link HistoryStore} that outlives the process must do; run against Redis ({@link RedisHistoryStoreIT}),
 * H2, and PostgreSQL and MariaDB servers the tests start.
 */
abstract class HistoryStoreContract {
    private final List<HistoryStore> opened = new ArrayList<>();
    HistoryStore store;

    /** A store on empty storage. */
    abstract HistoryStore newStore();

    /** Another store on the storage of the last {@link #newStore()}, as a restarted dashboard opens it. */
    abstract HistoryStore reopen();

    @BeforeEach
    void open() {
        store = track(newStore());
    }

    @AfterEach
    void closeAll() {
        opened.forEach(HistoryStore::close);
    }

    HistoryStore track(HistoryStore s) {
        opened.add(s);
        return s;
    }

    static TaskRecord record(String id, double firstSeen) {
        return TaskRecord.empty(id, firstSeen).apply(event("task-received", id, firstSeen, "name", "t.x",
                "args", "(1,)", "kwargs", "{}", "routing_key", "celery"));
    }

    static List<String> ids(List<TaskRecord> records) {
        return records.stream().map(TaskRecord::id).toList();
    }

    @Test
    void anEmptyStoreLoadsNothing() {
        assertThat(store.load(100)).isEmpty();
        store.trim(10);
        store.remove(List.of("nothing"));
        store.remove(List.of());
        store.save(List.of());
        assertThat(store.load(100)).isEmpty();
    }

    @Test
    void loadsTheNewestFirstUpToMax() {
        store.save(List.of(record("b", 2), record("a", 1), record("c", 3)));
        store.save(List.of(record("d", 4)));
        assertThat(ids(store.load(100))).containsExactly("d", "c", "b", "a");
        assertThat(ids(store.load(2))).containsExactly("d", "c");
    }

    @Test
    void tasksFirstSeenAtOneInstantAreOrderedById() {
        // A batch of events shares one clock reading; the order among its tasks is by id, as in a Redis sorted set.
        store.save(List.of(record("t-2", 5), record("t-10", 5), record("t-1", 5), record("old", 1)));
        assertThat(ids(store.load(10))).containsExactly("t-2", "t-10", "t-1", "old");
    }

    @Test
    void savingATaskAgainReplacesItsRecordAndKeepsItsPlace() {
        TaskRecord first = record("first", 1);
        store.save(List.of(first, record("second", 2)));
        TaskRecord done = first.apply(event("task-succeeded", "first", 9, "result", "42", "runtime", 0.5));
        // Even a record claiming a later first-seen time keeps the place of its first save (Redis: ZADD NX).
        TaskRecord moved = new TaskRecord(done.id(), done.name(), done.state(), done.args(), done.kwargs(),
                done.result(), done.exception(), done.traceback(), done.worker(), done.queue(), done.received(),
                done.started(), done.finished(), done.runtime(), done.retries(), done.parentId(), done.rootId(),
                done.eta(), done.expires(), done.stateTime(), 99, "copy-1", done.events());
        store.save(List.of(moved));
        List<TaskRecord> loaded = store.load(10);
        assertThat(ids(loaded)).containsExactly("second", "first");
        assertThat(loaded.get(1).state()).isEqualTo("SUCCESS");
        assertThat(loaded.get(1).result()).isEqualTo("42");
        assertThat(loaded.get(1).retriedAs()).isEqualTo("copy-1");
    }

    @Test
    void theLastRecordOfATaskInOneBatchWins() {
        TaskRecord received = record("x", 1);
        TaskRecord started = received.apply(event("task-started", "x", 2));
        store.save(List.of(received, started, record("y", 3)));
        assertThat(store.load(10)).hasSize(2).filteredOn(r -> r.id().equals("x")).singleElement()
                .extracting(TaskRecord::state).isEqualTo("STARTED");
    }

    @Test
    void everyFieldRoundTrips() {
        TaskRecord full = TaskRecord.empty("full", 10);
        for (Map<String, Object> e : lifecycle("full", "t.mail", "('ünïcødé ✓ 😀', \"it's\")", 10, false)) {
            full = full.apply(e);
        }
        full = full.apply(event("task-retried", "full", 11, "exception", "X()", "traceback", "Traceback\n" +
                "x".repeat(100_000))).apply(event("task-received", "full", 12, "retries", 1, "parent_id", "p",
                "root_id", "r", "eta", "2026-01-01T00:00:00+00:00", "expires", "2026-01-02T00:00:00+00:00"))
                .withRetriedAs("again");
        store.save(List.of(full));
        assertThat(store.load(1)).containsExactly(full);
    }

    @Test
    void idsCompareExactly() {
        store.save(List.of(record("Task", 1), record("task", 2), record("tâsk", 3)));
        assertThat(ids(store.load(10))).containsExactly("tâsk", "task", "Task");
        store.remove(List.of("task"));
        assertThat(ids(store.load(10))).containsExactly("tâsk", "Task");
    }

    @Test
    void trimKeepsTheNewest() {
        for (int i = 0; i < 25; i++) {
            store.save(List.of(record("id-" + i, i)));
        }
        store.trim(10);
        assertThat(ids(store.load(100))).containsExactlyElementsOf(
                IntStream.range(15, 25).map(i -> 39 - i).mapToObj(i -> "id-" + i).toList());
        store.trim(10);
        assertThat(store.load(100)).hasSize(10);

        // More saves after a trim (updates of kept tasks and new ones), then another trim.
        store.save(List.of(record("id-24", 24), record("id-25", 25), record("id-26", 26)));
        store.trim(10);
        assertThat(ids(store.load(100))).startsWith("id-26", "id-25", "id-24").hasSize(10).doesNotContain("id-16");
        store.trim(0);
        assertThat(store.load(100)).isEmpty();
    }

    @Test
    void trimCutsBetweenTasksFirstSeenAtOneInstant() {
        store.save(IntStream.range(0, 20).mapToObj(i -> record("same-" + (char) ('a' + i), 7)).toList());
        store.save(List.of(record("older", 6)));
        store.trim(5);
        assertThat(ids(store.load(100))).containsExactly("same-t", "same-s", "same-r", "same-q", "same-p");
    }

    @Test
    void writesAndRemovesInBatches() {
        List<TaskRecord> many = IntStream.range(0, 2_500).mapToObj(i -> record(String.format("b-%05d", i), i))
                .toList();
        store.save(many);
        assertThat(store.load(10_000)).hasSize(2_500).first().extracting(TaskRecord::id).isEqualTo("b-02499");
        store.remove(IntStream.range(0, 1_500).mapToObj(i -> String.format("b-%05d", i)).toList());
        List<TaskRecord> left = store.load(10_000);
        assertThat(left).hasSize(1_000);
        assertThat(left.get(left.size() - 1).id()).isEqualTo("b-01500");
    }

    @Test
    void removeDropsByIdAndIgnoresUnknownIds() {
        store.save(List.of(record("keep", 1), record("drop", 2)));
        store.remove(List.of("drop", "never-there"));
        assertThat(ids(store.load(10))).containsExactly("keep");
        // A removed task seen again comes back, placed by its new first-seen time.
        store.save(List.of(record("drop", 3)));
        assertThat(ids(store.load(10))).containsExactly("drop", "keep");
    }

    @Test
    void theHistorySurvivesARestart() {
        TaskHistory before = new TaskHistory(1000, store);
        before.apply(lifecycle("kept-1", "t.mail", "('a@b.c',)", 1, true), 1);
        before.apply(lifecycle("kept-2", "t.mail", "('x@y.z',)", 2, false), 2);
        before.put(before.get("kept-2").orElseThrow().withRetriedAs("kept-3"));
        before.flush();
        store.close();

        TaskHistory after = new TaskHistory(1000, track(reopen()));
        assertThat(after.size()).isEqualTo(2);
        TaskRecord failed = after.get("kept-2").orElseThrow();
        assertThat(failed.state()).isEqualTo("FAILURE");
        assertThat(failed.exception()).isEqualTo("ValueError('bad')");
        assertThat(failed.retriedAs()).isEqualTo("kept-3");
        assertThat(failed.events()).hasSize(3);
        assertThat(after.query(TaskQuery.all()).items()).extracting(TaskRecord::id)
                .containsExactly("kept-2", "kept-1");
    }

    @Test
    void theHistoryIsBoundedInTheStore() {
        TaskHistory h = new TaskHistory(10, store);
        for (int i = 0; i < 25; i++) {
            h.apply(lifecycle("id-" + i, "t.x", "()", i, true), i);
            if (i % 7 == 0) {
                h.flush();
            }
        }
        h.flush();
        assertThat(h.size()).isEqualTo(10);
        assertThat(ids(store.load(100))).hasSize(10).startsWith("id-24").endsWith("id-15");
    }
}
