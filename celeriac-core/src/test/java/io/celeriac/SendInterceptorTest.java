package io.celeriac;

import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.BrokerWithoutOnceDispatch;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import io.celeriac.task.SendOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Send interceptors: what they see of each send, and that the message goes out when (and only when) they say. */
class SendInterceptorTest {
    /** Holds every send until {@link #release}, as a transaction's commit would. */
    static final class Holding implements SendInterceptor {
        final List<Send> held = new ArrayList<>();

        @Override
        public synchronized void intercept(Send send) {
            held.add(send);
        }

        synchronized void release() {
            held.forEach(Send::proceed);
            held.clear();
        }
    }

    private final InMemoryBroker broker = new InMemoryBroker();
    private final Holding holding = new Holding();
    private final Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks())
            .sendInterceptor(holding).build();

    @AfterEach
    void close() {
        broker.close();
    }

    @Test
    void aHeldSendHasItsTaskIdAtOnceAndReachesTheBrokerOnlyWhenReleased() {
        AsyncResult r = app.task("t.add").delay(2, 3);

        assertThat(broker.queueLength("celery")).isZero();
        assertThat(holding.held).singleElement().satisfies(s -> {
            assertThat(s.messages()).extracting(OutboundMessage::taskId).containsExactly(r.id());
            assertThat(s.messages().get(0).queue()).isEqualTo("celery");
            assertThat(s.onceKey()).isEmpty();
        });

        holding.release();
        assertThat(broker.queueLength("celery")).isEqualTo(1);
    }

    @Test
    void aDroppedSendPublishesNothing() {
        app.task("t.add").delay(1, 1);
        holding.held.clear(); // the transaction rolled back

        assertThat(broker.queueLength("celery")).isZero();
    }

    @Test
    void sendAllAndCanvasesGoThroughTheInterceptorsToo() {
        List<AsyncResult> all = app.sendAll(List.of(app.signature("t.add", 1, 2), app.signature("t.add", 3, 4)));
        GroupResult group = Canvas.group(app.signature("t.add", 5, 6), app.signature("t.add", 7, 8)).applyAsync();
        AsyncResult chain = Canvas.chain(app.signature("t.add", 1, 1), app.signature("t.add", 2)).applyAsync();

        assertThat(broker.queueLength("celery")).isZero();
        assertThat(holding.held).hasSize(3);
        assertThat(holding.held.get(0).messages()).extracting(OutboundMessage::taskId)
                .containsExactly(all.get(0).id(), all.get(1).id());
        assertThat(holding.held.get(1).messages()).extracting(OutboundMessage::taskId)
                .containsExactlyElementsOf(group.results().stream().map(AsyncResult::id).toList());
        assertThat(holding.held.get(2).messages()).hasSize(1); // a chain's first step; the rest travel inside it
        assertThat(chain.parent()).isPresent();

        holding.release();
        assertThat(broker.queueLength("celery")).isEqualTo(5);
    }

    @Test
    void aUniqueTaskCarriesItsOnceKeyAndIsStillDroppedWhilePendingWhenReleased() {
        SendOptions unique = SendOptions.builder().taskId("order-7-mail").unique(true).build();
        app.applyAsync("t.add", List.of(1, 2), Map.of(), unique);
        app.applyAsync("t.add", List.of(1, 2), Map.of(), unique); // a double submit

        assertThat(holding.held).hasSize(2).allSatisfy(s -> {
            assertThat(s.onceKey()).contains("celeriac.unique:order-7-mail");
            assertThat(s.onceKeep()).isEqualTo(Celeriac.UNIQUE_KEY_TTL);
        });
        holding.release();
        assertThat(broker.queueLength("celery")).isEqualTo(1);
    }

    @Test
    void sendNowGoesPastTheInterceptorsOnItsThreadOnly() {
        AsyncResult now = app.sendNow(() -> app.task("t.add").delay(1, 2));
        assertThat(broker.queueLength("celery")).isEqualTo(1);
        assertThat(holding.held).isEmpty();

        app.task("t.add").delay(3, 4); // after sendNow: held again
        assertThat(holding.held).hasSize(1);
        assertThat(now.id()).isNotEqualTo(holding.held.get(0).messages().get(0).taskId());
    }

    @Test
    void proceedPublishesOnce() {
        app.task("t.add").delay(1, 2);
        SendInterceptor.Send send = holding.held.get(0);
        send.proceed();

        assertThatThrownBy(send::proceed).isInstanceOf(IllegalStateException.class).hasMessageContaining("twice");
        assertThat(broker.queueLength("celery")).isEqualTo(1);
    }

    @Test
    void interceptorsRunInOrderEachProceedingToTheNext() {
        List<String> seen = new ArrayList<>();
        Celeriac chained = Celeriac.builder().broker(broker).register(new TestTasks())
                .sendInterceptor(s -> {
                    seen.add("first");
                    s.proceed();
                })
                .sendInterceptor(s -> {
                    seen.add("second, queue length " + broker.queueLength("celery"));
                    s.proceed();
                }).build();

        chained.task("t.add").delay(1, 2);

        assertThat(seen).containsExactly("first", "second, queue length 0");
        assertThat(broker.queueLength("celery")).isEqualTo(1);
    }

    @Test
    void aUniqueTaskOnABrokerWithoutOnceDispatchIsRefusedAtTheSendNotWhenReleased() {
        BrokerWithoutOnceDispatch rabbitLike = new BrokerWithoutOnceDispatch(new InMemoryBroker());
        Celeriac onRabbit = Celeriac.builder().broker(rabbitLike).register(new TestTasks()).sendInterceptor(holding)
                .build();

        assertThatThrownBy(() -> onRabbit.applyAsync("t.add", List.of(1, 2), Map.of(),
                SendOptions.builder().unique(true).build())).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("unique tasks");
        assertThat(holding.held).isEmpty();
        rabbitLike.close();
    }

    @Test
    void eagerModeRunsInPlaceWithoutInterceptors() {
        Celeriac eager = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new TestTasks()).sendInterceptor(holding).build();

        assertThat(eager.task("t.add").delay(2, 3).get(java.time.Duration.ofSeconds(1))).isEqualTo(5);
        assertThat(holding.held).isEmpty();
        eager.close();
    }
}
