package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.control.ControlMessage;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Celery's broadcast commands, answered in Celery's reply shape. */
class RemoteControlTest {
    private final InMemoryBroker broker = new InMemoryBroker();
    private final Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks()).build();
    private Worker a;
    private Worker b;

    @AfterEach
    void stop() {
        TestTasks.release.countDown();
        a.shutdownNow();
        b.shutdownNow();
        broker.close();
    }

    private List<Map<String, Object>> ask(String method, Map<String, Object> args, List<String> destination) {
        return broker.controlBus().orElseThrow().broadcastAndCollect(
                new ControlMessage(method, args, destination, null, null), Duration.ofMillis(500));
    }

    @Test
    void pingRegisteredActiveStatsAndDestination() throws Exception {
        TestTasks.reset();
        a = app.worker().hostname("a@test").concurrency(2).start();
        b = app.worker().hostname("b@test").queues("other").start();
        assertThat(ask("ping", Map.of(), List.of()))
                .containsExactlyInAnyOrder(Map.of("a@test", Map.of("ok", "pong")), Map.of("b@test", Map.of("ok", "pong")));
        assertThat(ask("ping", Map.of(), List.of("b@test"))).containsExactly(Map.of("b@test", Map.of("ok", "pong")));

        @SuppressWarnings("unchecked")
        List<String> registered = (List<String>) ask("registered", Map.of(), List.of("a@test")).get(0).get("a@test");
        assertThat(registered).contains("t.add", "t.flaky");

        TestTasks.release = new CountDownLatch(1);
        TestTasks.started = new CountDownLatch(1);
        AsyncResult running = app.task("t.block").delay("held");
        assertThat(TestTasks.started.await(10, TimeUnit.SECONDS)).isTrue();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> active = (List<Map<String, Object>>) ask("active", Map.of(), List.of("a@test"))
                .get(0).get("a@test");
        assertThat(active).singleElement().satisfies(t -> assertThat(t).containsEntry("id", running.id())
                .containsEntry("name", "t.block").containsEntry("args", List.of("held")));
        TestTasks.release.countDown();
        running.get(Duration.ofSeconds(10));

        @SuppressWarnings("unchecked")
        Map<String, Object> stats = (Map<String, Object>) ask("stats", Map.of(), List.of("a@test")).get(0).get("a@test");
        assertThat(stats).containsKeys("total", "pid", "pool", "prefetch_count");
        await().atMost(Duration.ofSeconds(5)).until(() -> a.processed().containsKey("t.block"));
    }

    @Test
    void rateLimitPoolAndConsumersChangeWhileRunning() {
        a = app.worker().hostname("a@test").concurrency(2).start();
        b = app.worker().hostname("b@test").start();
        assertThat(ask("rate_limit", Map.of("task_name", "t.add", "rate_limit", "5/s"), List.of("a@test")))
                .containsExactly(Map.of("a@test", Map.of("ok", "new rate limit set successfully")));
        ask("pool_grow", Map.of("n", 3), List.of("a@test"));
        assertThat(a.concurrency()).isEqualTo(5);
        ask("pool_shrink", Map.of("n", 1), List.of("a@test"));
        assertThat(a.concurrency()).isEqualTo(4);
        ask("add_consumer", Map.of("queue", "extra"), List.of("a@test"));
        assertThat(a.queues()).containsExactly("celery", "extra");
        ask("cancel_consumer", Map.of("queue", "extra"), List.of("a@test"));
        assertThat(a.queues()).containsExactly("celery");
        assertThat(b.concurrency()).isEqualTo(CeleriacConfig.defaults().concurrency());
    }

    @Test
    void celeryStyleRevokeWithAStringId() {
        a = app.worker().hostname("a@test").start();
        b = app.worker().hostname("b@test").start();
        broker.controlBus().orElseThrow().broadcast(ControlMessage.of("revoke", Map.of("task_id", "abc-123",
                "terminate", false, "signal", "SIGTERM")));
        await().atMost(Duration.ofSeconds(5)).until(() -> a.revokedIds().contains("abc-123")
                && b.revokedIds().contains("abc-123"));
    }
}
