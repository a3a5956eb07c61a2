package io.celeriac.task;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A caller leaves arguments out and the worker fills in the task's defaults. The caller knows the task only by name,
 * as a Python client does; the worker finds its tasks by package scan, as {@code celeriac worker -A} does.
 */
class ArgDefaultsWorkerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private InMemoryBroker broker;
    private Celeriac client;
    private InMemoryResultBackend backend;
    private Worker worker;

    @BeforeEach
    void setUp() {
        broker = new InMemoryBroker();
        backend = new InMemoryResultBackend();
        CeleriacConfig config = CeleriacConfig.builder().hostname("test@local").build();
        Celeriac workerApp = Celeriac.builder().config(config).broker(broker).resultBackend(backend)
                .scan("io.celeriac.fixtures.defaults").build();
        client = Celeriac.builder().config(config).broker(broker).resultBackend(backend).build();
        worker = workerApp.worker().start();
    }

    @AfterEach
    void tearDown() {
        worker.shutdownNow();
        broker.close();
    }

    @Test
    void theWorkerFillsInTheDefaultOfAnArgumentTheCallerLeftOut() {
        // acc.kw(a, b=2, c) computes a*100 + b*10 + c; this is Python's kw.delay(1, c=9).
        AsyncResult r = client.applyAsync("acc.kw", List.of(1), Map.of("c", 9), SendOptions.none());

        assertThat(r.get(WAIT)).isEqualTo(129);
    }

    @Test
    void aProducerThatKnowsTheTaskChecksTheCallByTheSameRulesBeforeSending() {
        Celeriac knowing = Celeriac.builder().config(CeleriacConfig.builder().hostname("p@local").build())
                .broker(broker).resultBackend(backend).scan("io.celeriac.fixtures.defaults")
                .build();
        // Leaving out b (it has a default) is fine; leaving out c is refused here, before anything is sent.
        assertThat(knowing.applyAsync("acc.kw", List.of(1), Map.of("c", 9), SendOptions.none()).get(WAIT))
                .isEqualTo(129);
        assertThatThrownBy(() -> knowing.applyAsync("acc.kw", List.of(1), Map.of("b", 5), SendOptions.none()))
                .isInstanceOf(ArgumentMismatchException.class).hasMessageContaining("missing argument 3 'c'");
        assertThatThrownBy(() -> knowing.applyAsync("acc.kw", List.of(1), Map.of("zzz", 5), SendOptions.none()))
                .isInstanceOf(TaskArgumentException.class);
    }

    @Test
    void optionalAndNullableParametersMayBeLeftOut() {
        AsyncResult page = client.applyAsync("acc.page", List.of("q"), Map.of("limit", 5), SendOptions.none());
        AsyncResult note = client.applyAsync("acc.note", List.of("x"), Map.of(), SendOptions.none());

        assertThat(page.get(WAIT)).isEqualTo("q:5:20");
        assertThat(note.get(WAIT)).isEqualTo("x by null at null");
    }

    @Test
    void aMissingRequiredArgumentFailsTheTaskAndDeadLettersItsMessage() {
        AsyncResult r = client.applyAsync("acc.kw", List.of(1), Map.of("b", 5), SendOptions.none());

        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.excType()).isEqualTo("ArgumentMismatchException");
            assertThat(e.excMessage()).contains("is missing argument 3 'c': 1 positional and 1 keyword argument(s)");
        });
        DeadLetterQueue dlq = broker.deadLetterQueue().orElseThrow();
        await().atMost(WAIT).until(() -> dlq.count() == 1);
        assertThat(dlq.list(1).get(0).reason()).contains("missing argument 3 'c'");
    }
}
