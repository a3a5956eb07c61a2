package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskFailedException;
import io.celeriac.backend.TaskState;
import io.celeriac.worker.Worker;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A worker storing results in H2 through {@link JdbcResultBackend}, given documents the table cannot hold
 * ({@code task_id} and {@code parent_id} are VARCHAR(255)): the refused one ends as a FAILURE or a dead letter, and
 * the results and acks of every other task still go through.
 */
class WorkerOnJdbcResultsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private InMemoryBroker broker;
    private JdbcResultBackend backend;
    private Worker worker;

    @BeforeEach
    void setUp() {
        TestTasks.reset();
        broker = new InMemoryBroker();
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        backend = new JdbcResultBackend(ds, Duration.ofHours(1), Clock.systemUTC());
    }

    @AfterEach
    void tearDown() {
        if (worker != null) {
            worker.shutdownNow();
        }
        backend.close();
        broker.close();
    }

    @ParameterizedTest(name = "acks late: {0}")
    @ValueSource(booleans = {true, false})
    void aDocumentTheDatabaseRefusesDoesNotStopTheOtherResultsAndAcks(boolean acksLate) {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().hostname("jdbc@test").acksLate(acksLate)
                .build()).broker(broker).resultBackend(backend).register(new TestTasks()).build();
        String longId = "x".repeat(300);
        String longParent = "p".repeat(300);

        // Sent before the worker starts, so the refused documents share a batch with the good ones.
        List<AsyncResult> good = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            good.add(app.task("t.add").delay(i, 100));
        }
        app.applyAsync("t.add", List.of(1, 1), Map.of(), SendOptions.builder().taskId(longId).build());
        BrokerMessage withLongParent = app.codec().encode(TaskMessage.builder("t.add", "long-parent")
                .args(List.of(2, 2)).parentId(longParent).rootId("root").routingKey("celery")
                .deliveryTag("dt-long-parent").build());
        broker.publish(new OutboundMessage("celery", 0, withLongParent, "long-parent", null));
        for (int i = 10; i < 20; i++) {
            good.add(app.task("t.add").delay(i, 100));
        }
        worker = app.worker().concurrency(4).prefetchMultiplier(8).start();

        for (int i = 0; i < 20; i++) {
            assertThat(good.get(i).get(WAIT)).isEqualTo(i + 100);
        }
        // The parent id does not fit: the SUCCESS is replaced by a FAILURE saying so, which does fit.
        AsyncResult refused = app.result("long-parent");
        assertThatThrownBy(() -> refused.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.excType()).isEqualTo("ResultNotStoredError");
            assertThat(e.excMessage()).contains("SUCCESS result could not be stored").contains("PARENT_ID");
        });
        // The task id itself does not fit, so no document for it can be stored: its message is dead-lettered.
        DeadLetterQueue deadLetters = broker.deadLetterQueue().orElseThrow();
        await().atMost(WAIT).until(() -> deadLetters.count() == 1);
        DeadLetter dead = deadLetters.list(1).get(0);
        assertThat(dead.reason()).contains("could not be stored").contains("nor could a FAILURE in its place");
        assertThat(app.codec().decode(dead.message()).id()).isEqualTo(longId);

        // Nothing is left reserved or unacked, and the worker goes on.
        assertThat(app.task("t.add").delay(20, 22).get(WAIT)).isEqualTo(42);
        await().atMost(WAIT).until(() -> broker.unackedCount() == 0 && worker.inFlight() == 0);
        assertThat(broker.queueLength("celery")).isZero();
        ResultDocument stored = backend.get("long-parent").orElseThrow();
        assertThat(stored.status()).isEqualTo(TaskState.FAILURE);
        assertThat(stored.parentId()).isNull();
    }
}
