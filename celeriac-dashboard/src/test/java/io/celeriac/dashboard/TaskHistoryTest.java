package io.celeriac.dashboard;

import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The bounded history: event folding, filtering, paging, and persistence in a real Redis. */
class TaskHistoryTest {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private RedisClient client;
    private StatefulRedisConnection<String, String> redis;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        redis = client.connect();
        redis.sync().flushall();
    }

    @AfterEach
    void tearDown() {
        redis.close();
        client.shutdown();
    }

    static Map<String, Object> event(String type, String id, double ts, Object... kv) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("type", type);
        e.put("uuid", id);
        e.put("timestamp", ts);
        e.put("hostname", "w1@host");
        for (int i = 0; i < kv.length; i += 2) {
            e.put((String) kv[i], kv[i + 1]);
        }
        return e;
    }

    static List<Map<String, Object>> lifecycle(String id, String name, String args, double t0, boolean ok) {
        return List.of(event("task-received", id, t0, "name", name, "args", args, "kwargs", "{}",
                        "routing_key", "celery"),
                event("task-started", id, t0 + 0.01),
                ok ? event("task-succeeded", id, t0 + 0.05, "result", "42", "runtime", 0.04)
                        : event("task-failed", id, t0 + 0.05, "exception", "ValueError('bad')",
                        "traceback", "Traceback ..."));
    }

    @Test
    void eventsArrivingOutOfOrderStillEndInTheFinalState() {
        TaskHistory h = new TaskHistory(100, HistoryStore.none());
        List<Map<String, Object>> evs = new ArrayList<>(lifecycle("a", "t.add", "(1, 2)", 100, true));
        java.util.Collections.reverse(evs);
        h.apply(evs, 100);
        TaskRecord r = h.get("a").orElseThrow();
        assertThat(r.state()).isEqualTo("SUCCESS");
        assertThat(r.name()).isEqualTo("t.add");
        assertThat(r.args()).isEqualTo("(1, 2)");
        assertThat(r.runtime()).isEqualTo(0.04);
        assertThat(r.events()).extracting(TaskRecord.Event::type)
                .containsExactly("task-received", "task-started", "task-succeeded");

        // A retry: failed attempt, retried, received again later, then success.
        h.apply(List.of(event("task-received", "b", 10, "name", "t.flaky"), event("task-retried", "b", 11,
                "exception", "IOError()"), event("task-received", "b", 20, "retries", 1)), 20);
        assertThat(h.get("b").orElseThrow().state()).isEqualTo("RECEIVED");
        assertThat(h.get("b").orElseThrow().retries()).isEqualTo(1);
    }

    @Test
    void aRejectedTaskKeepsItsNameArgumentsAndReason() {
        TaskHistory h = new TaskHistory(100, HistoryStore.none());
        // An unregistered task: the only event it gets is task-rejected, which names it.
        h.apply(List.of(event("task-rejected", "u", 10, "name", "nobody.knows", "args", "(7,)", "kwargs", "{}",
                "routing_key", "celery", "requeue", false,
                "reason", "Received unregistered task of type 'nobody.knows'")), 10);
        TaskRecord u = h.get("u").orElseThrow();
        assertThat(u.state()).isEqualTo("REJECTED");
        assertThat(u.name()).isEqualTo("nobody.knows");
        assertThat(u.args()).isEqualTo("(7,)");
        assertThat(u.queue()).isEqualTo("celery");
        assertThat(u.exception()).startsWith("Received unregistered task");
        assertThat(u.events()).extracting(TaskRecord.Event::detail).containsExactly(
                "Received unregistered task of type 'nobody.knows'");
        assertThat(h.query(new TaskQuery(Set.of(), "nobody.knows", null, null, 0, 10)).total()).isEqualTo(1);

        // A failed task rejected afterwards (acks late without task_acks_on_failure_or_timeout) keeps its exception.
        h.apply(List.of(event("task-received", "f", 20, "name", "t.flaky", "args", "()"),
                event("task-failed", "f", 21, "exception", "ValueError('bad')"),
                event("task-rejected", "f", 21, "name", "t.flaky", "reason", "rejected without requeue")), 21);
        assertThat(h.get("f").orElseThrow().exception()).isEqualTo("ValueError('bad')");
    }

    @Test
    void filtersAndPagesNewestFirst() {
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        for (int i = 0; i < 30; i++) {
            h.apply(lifecycle("id-" + i, i % 3 == 0 ? "t.mail" : "t.render", "('user-" + i + "',)", i, i % 5 != 0),
                    i);
        }
        TaskHistory.Page all = h.query(new TaskQuery(Set.of(), null, null, null, 0, 10));
        assertThat(all.total()).isEqualTo(30);
        assertThat(all.items()).extracting(TaskRecord::id).startsWith("id-29", "id-28");
        TaskHistory.Page second = h.query(new TaskQuery(Set.of(), null, null, null, 10, 10));
        assertThat(second.items()).extracting(TaskRecord::id).startsWith("id-19");
        assertThat(h.query(new TaskQuery(Set.of("FAILURE"), null, null, null, 0, 50)).total()).isEqualTo(6);
        assertThat(h.query(new TaskQuery(Set.of("FAILURE"), "t.mail", null, null, 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("id-15", "id-0");
        assertThat(h.query(new TaskQuery(Set.of(), null, "USER-17", null, 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("id-17");
        assertThat(h.names()).containsExactly("t.mail", "t.render");
    }

    @Test
    void theHistoryIsBoundedInMemoryAndInRedis() {
        RedisHistoryStore store = new RedisHistoryStore(REDIS.url(0));
        TaskHistory h = new TaskHistory(10, store);
        for (int i = 0; i < 25; i++) {
            h.apply(lifecycle("id-" + i, "t.x", "()", i, true), i);
        }
        h.flush();
        assertThat(h.size()).isEqualTo(10);
        assertThat(h.get("id-14")).isEmpty();
        assertThat(h.get("id-15")).isPresent();
        assertThat(redis.sync().zcard(RedisHistoryStore.ORDER)).isEqualTo(10);
        assertThat(redis.sync().hlen(RedisHistoryStore.RECORDS)).isEqualTo(10);
        store.close();
    }

    /** 100k tasks: queries scan memory; reload from Redis is chunked. Times are printed, not asserted. */
    @Test
    void hundredThousandTasks() {
        RedisHistoryStore store = new RedisHistoryStore(REDIS.url(0));
        TaskHistory h = new TaskHistory(100_000, store);
        List<Map<String, Object>> batch = new ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            batch.addAll(lifecycle("task-" + i, "t.n" + (i % 20), "(" + i + ",)", i / 100.0, i % 50 != 0));
            if (batch.size() >= 30_000) {
                h.apply(batch, i);
                batch.clear();
            }
        }
        h.apply(batch, 1000);
        long t0 = System.nanoTime();
        h.flush();
        long saved = System.nanoTime();
        TaskHistory.Page search = h.query(new TaskQuery(Set.of(), null, "(99999,)", null, 0, 50));
        TaskHistory.Page failed = h.query(new TaskQuery(Set.of("FAILURE"), "t.n0", null, null, 0, 50));
        TaskHistory.Page deep = h.query(new TaskQuery(Set.of(), null, null, null, 99_950, 50));
        long queried = System.nanoTime();
        store.close();
        RedisHistoryStore reopened = new RedisHistoryStore(REDIS.url(0));
        TaskHistory reloaded = new TaskHistory(100_000, reopened);
        long loaded = System.nanoTime();
        System.out.printf("100k history: save %d ms, 3 queries %d ms, reload %d ms%n", (saved - t0) / 1_000_000,
                (queried - saved) / 1_000_000, (loaded - queried) / 1_000_000);
        assertThat(search.items()).extracting(TaskRecord::id).containsExactly("task-99999");
        assertThat(failed.total()).isEqualTo(1000);
        assertThat(deep.items()).hasSize(50).last().extracting(TaskRecord::id).isEqualTo("task-0");
        assertThat(reloaded.size()).isEqualTo(100_000);
        assertThat(reloaded.get("task-50").orElseThrow().state()).isEqualTo("FAILURE");
        reopened.close();
    }
}
