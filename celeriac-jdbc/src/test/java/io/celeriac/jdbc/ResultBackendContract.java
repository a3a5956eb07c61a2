package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.MutableClock;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.TaskFailedException;
import io.celeriac.task.TaskState;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The JDBC result backend on a database; run against H2 and a real PostgreSQL. */
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
        CompletableFuture<Optional<ResultDocument>> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return b.await("later", Duration.ofSeconds(20));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(100);
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
}
