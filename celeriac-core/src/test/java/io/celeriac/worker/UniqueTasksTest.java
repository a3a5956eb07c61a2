package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.SendOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** A unique task id is sent once while pending or running, and can be sent again once it is done. */
class UniqueTasksTest {
    private final InMemoryBroker broker = new InMemoryBroker();
    private final Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks()).build();
    private Worker worker;

    @BeforeEach
    void reset() {
        TestTasks.reset();
    }

    @AfterEach
    void stop() {
        TestTasks.release.countDown();
        if (worker != null) {
            worker.shutdownNow();
        }
        broker.close();
    }

    private void send(String id) {
        app.applyAsync("t.unique_block", List.of("x"), Map.of(), SendOptions.builder().taskId(id).build());
    }

    @Test
    void aDoubleSubmitWhilePendingOrRunningSendsOneTask() throws Exception {
        send("order-42-send_invoice");
        send("order-42-send_invoice");
        assertThat(broker.queueLength("celery")).isEqualTo(1);

        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        worker = app.worker().start();
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        send("order-42-send_invoice"); // running: dropped too
        assertThat(broker.queueLength("celery")).isZero();
        send("order-43-send_invoice"); // another id is another task
        TestTasks.release.countDown();
        assertThat(app.result("order-42-send_invoice").get(Duration.ofSeconds(10))).isEqualTo("x");
        assertThat(app.result("order-43-send_invoice").get(Duration.ofSeconds(10))).isEqualTo("x");
        assertThat(TestTasks.CALLS.get("t.unique_block").get()).isEqualTo(2);

        // Done: the same id may be sent again (a new, deliberate run). The key is released just after the result is
        // stored, so keep sending until one goes through; once it is pending, further sends are dropped again, and
        // none is sent after it ran.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            if (TestTasks.CALLS.get("t.unique_block").get() == 2) {
                send("order-42-send_invoice");
            }
            assertThat(TestTasks.CALLS.get("t.unique_block").get()).isEqualTo(3);
        });
        assertThat(broker.queueLength("celery")).as("no second copy was sent while the new run was pending").isZero();
    }

    @Test
    void uniquenessCanBeAskedPerSend() {
        SendOptions once = SendOptions.builder().taskId("report-2026-11").unique(true).build();
        app.applyAsync("t.add", List.of(1, 2), Map.of(), once);
        app.applyAsync("t.add", List.of(1, 2), Map.of(), once);
        assertThat(broker.queueLength("celery")).isEqualTo(1);
        // Without the option, the same id is sent again, as in Celery.
        app.applyAsync("t.add", List.of(1, 2), Map.of(), SendOptions.builder().taskId("report-2026-11").build());
        assertThat(broker.queueLength("celery")).isEqualTo(2);
    }

    @Test
    void onABrokerThatCannotPublishOncePerKeyAUniqueSendIsRefusedAndNothingIsSent() {
        io.celeriac.fixtures.BrokerWithoutOnceDispatch plain =
                new io.celeriac.fixtures.BrokerWithoutOnceDispatch(new InMemoryBroker());
        Celeriac onPlain = Celeriac.builder().broker(plain).register(new TestTasks()).build();
        assertThatThrownBy(() -> onPlain.applyAsync("t.unique_block", List.of("x"), Map.of(),
                SendOptions.builder().taskId("order-7").build()))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("unique tasks need a broker that can publish once per key (Redis, in memory); "
                        + "BrokerWithoutOnceDispatch cannot");
        assertThat(plain.queueLength("celery")).isZero();
        plain.close();
    }
}
