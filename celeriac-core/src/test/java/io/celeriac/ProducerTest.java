package io.celeriac;

import io.celeriac.broker.Delivery;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.ResultTimeoutException;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskArgumentException;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ProducerTest {
    private final InMemoryBroker broker = new InMemoryBroker();
    private final Celeriac app = Celeriac.builder()
            .config(CeleriacConfig.builder().route("reports.*", "reports").route("t.echo_request", "echo").build())
            .broker(broker).register(new TestTasks()).build();

    @AfterEach
    void close() {
        broker.close();
    }

    private TaskMessage take(String queue) throws InterruptedException {
        List<Delivery> got = broker.reserve(List.of(queue), 1, Duration.ofSeconds(1));
        assertThat(got).as("a message on queue " + queue).hasSize(1);
        return app.codec().decode(got.get(0).message());
    }

    @Test
    void delayWritesACompleteProtocolV2Message() throws Exception {
        AsyncResult r = app.task("t.add").delay(2, 3);
        TaskMessage m = take("celery");
        assertThat(m.id()).isEqualTo(r.id());
        assertThat(m.task()).isEqualTo("t.add");
        assertThat(m.args()).containsExactly(2, 3);
        assertThat(m.kwargs()).isEmpty();
        assertThat(m.rootId()).isEqualTo(r.id());
        assertThat(m.parentId()).isNull();
        assertThat(m.argsRepr()).isEqualTo("(2, 3)");
        assertThat(m.lang()).isEqualTo("java");
        assertThat(m.origin()).startsWith("gen");
        assertThat(m.routingKey()).isEqualTo("celery");
        assertThat(m.deliveryTag()).isNotBlank();
        assertThat(r.state()).isEqualTo(TaskState.PENDING);
    }

    @Test
    void applyAsyncOptions() throws Exception {
        Instant before = Instant.now();
        app.applyAsync("t.add", List.of(1), Map.of("y", 2), SendOptions.builder()
                .countdown(Duration.ofSeconds(30)).expires(Duration.ofSeconds(60)).queue("fast").priority(5)
                .taskId("order-42-add").header("x-tenant", "acme").timeLimit(Duration.ofSeconds(9))
                .softTimeLimit(Duration.ofSeconds(8)).build());
        assertThat(broker.queueLength("fast")).isZero(); // held until its ETA
        assertThat(broker.scheduledCount()).isEqualTo(1);

        app.applyAsync("t.add", List.of(1, 2), Map.of(), SendOptions.builder().queue("fast").priority(9)
                .taskId("urgent").build());
        TaskMessage m = take("fast");
        assertThat(m.id()).isEqualTo("urgent");
        assertThat(m.priority()).isEqualTo(9);

        Instant eta = Instant.parse("2030-01-02T03:04:05Z");
        app.applyAsync("t.add", List.of(1, 2), Map.of(), SendOptions.builder().eta(eta).taskId("eta").build());
        TaskMessage built = app.buildMessage("t.add", List.of(1), Map.of("y", 2), SendOptions.builder()
                .countdown(Duration.ofSeconds(30)).expires(Duration.ofSeconds(60)).taskId("order-42-add")
                .header("x-tenant", "acme").timeLimit(Duration.ofSeconds(9)).build());
        assertThat(Duration.between(before, built.eta()).toSeconds()).isBetween(29L, 31L);
        assertThat(Duration.between(before, built.expires()).toSeconds()).isBetween(59L, 61L);
        assertThat(built.extraHeaders()).containsEntry("x-tenant", "acme");
        assertThat(built.timeLimit()).isCloseTo(9.0, within(1e-9));
        assertThat(built.kwargsRepr()).isEqualTo("{'y': 2}");
    }

    @Test
    void routesExactAndGlobAfterTheTasksOwnQueue() throws Exception {
        app.task("reports.daily").delay();
        assertThat(take("reports").task()).isEqualTo("reports.daily");
        app.task("t.echo_request").delay();
        assertThat(take("echo").task()).isEqualTo("t.echo_request");
        // An explicit queue beats routes.
        app.applyAsync("reports.daily", List.of(), Map.of(), SendOptions.builder().queue("adhoc").build());
        assertThat(take("adhoc").task()).isEqualTo("reports.daily");
    }

    @Test
    void signaturesCanBeSentLaterAndInBatches() throws Exception {
        Signature s = app.task("t.add").s(4, 5);
        assertThat(s.toMap()).containsEntry("task", "t.add").containsEntry("args", List.of(4, 5));
        assertThat(broker.queueLength("celery")).isZero();
        AsyncResult one = s.delay();
        assertThat(take("celery").id()).isEqualTo(one.id());

        List<AsyncResult> many = app.sendAll(List.of(app.signature("t.add", 1, 1), app.signature("t.add", 2, 2),
                app.signature("t.add", 3, 3)));
        assertThat(many).hasSize(3);
        assertThat(broker.queueLength("celery")).isEqualTo(3);
    }

    @Test
    void argumentsThatCannotTravelAreRefusedAtSendTime() {
        assertThatThrownBy(() -> app.task("t.norm").delay(new Thread(), List.of(1)))
                .isInstanceOf(TaskArgumentException.class)
                .hasMessageContaining("Argument 1 of task 't.norm' (java.lang.Thread) cannot travel as JSON");
        assertThatThrownBy(() -> app.task("t.add").delay(1, 2, 3))
                .isInstanceOf(TaskArgumentException.class).hasMessageContaining("takes 2 argument(s)");
        assertThat(broker.queueLength("celery")).isZero();
    }

    @Test
    void asyncResultOfAnUnknownIdIsPendingAndTimesOut() {
        AsyncResult r = app.result("never-sent");
        assertThat(r.state()).isEqualTo(TaskState.PENDING);
        assertThat(r.ready()).isFalse();
        assertThat(r.result()).isNull();
        assertThatThrownBy(() -> r.get(Duration.ofMillis(50))).isInstanceOf(ResultTimeoutException.class)
                .hasMessageContaining("PENDING");
    }

    @Test
    void forgetDeletesTheResult() {
        app.backend().store(io.celeriac.backend.ResultDocument.of("f-1", TaskState.SUCCESS, 1));
        AsyncResult r = app.result("f-1");
        assertThat(r.get(Duration.ofSeconds(1))).isEqualTo(1);
        r.forget();
        assertThat(r.state()).isEqualTo(TaskState.PENDING);
    }
}
