package io.celeriac.broker;

import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.backend.TaskState;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.state.Action;
import net.jqwik.api.state.ActionChain;
import net.jqwik.api.state.Transformer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What every {@link Broker} must do, whatever carries the messages. A transport's test extends this class and says
 * how to open a fresh store, connect consumers to it and kill one ({@link Transport}); the tests here then check the
 * delivery promises the worker builds on: a message is delivered unchanged, never lost, never handed to two live
 * consumers at once; an acked message never comes back; a dead consumer's messages do; queues are served in turn.
 *
 * <p>What a broker offers only optionally ({@link Broker#deadLetterQueue()}, {@link Broker#onceDispatch()},
 * {@link Broker#consumerCount}) is tested where it is offered; a broker without it skips those tests.
 *
 * <p>The property at the end runs random sequences of publish, reserve, ack, requeue, dead-letter, consumer kills and
 * new consumers against a model and checks, after every step, that the broker holds exactly what the model says.
 */
public abstract class BrokerContract {
    private static final Duration SHORT = Duration.ofMillis(200);
    private static final Duration LONG = Duration.ofSeconds(20);
    private static final List<String> QUEUES = List.of("contract.a", "contract.b");

    private final MessageCodec codec = new MessageCodec();

    /** A store (a broker server, a database) that consumers connect to, empty when opened. */
    protected interface Transport extends AutoCloseable {
        /** A new consumer (and producer) on the store, as a new worker process would open. */
        Broker connect();

        /** The consumer dies abruptly: it settles nothing, says goodbye to nobody. */
        void crash(Broker consumer) throws Exception;

        /**
         * Whatever the transport does once a consumer died, done now or awaited: after this returns, the dead
         * consumer's unacked messages are back in their queues.
         */
        void awaitRecovery(Broker survivor) throws Exception;

        /**
         * A result backend for {@link Broker#storeAckAndReserve}: where the transport can store results itself, one
         * it stores (Redis: a Redis backend on the same server); else any.
         */
        default ResultBackend resultBackend() {
            return new InMemoryResultBackend();
        }

        /** True where a lower priority number is served first (kombu on Redis); false where a higher one is (AMQP). */
        default boolean lowerNumberFirst() {
            return true;
        }

        /** False where the queues ignore priorities (RabbitMQ 3.x quorum queues): first in, first out regardless. */
        default boolean honoursPriorities() {
            return true;
        }

        /** False where a requeued message goes behind those waiting (RabbitMQ 3.x quorum queues). */
        default boolean requeueGoesFirst() {
            return true;
        }

        @Override
        void close() throws Exception;
    }

    /** Opens a fresh, empty store. */
    protected abstract Transport open() throws Exception;

    // ------------------------------------------------------------------ messages

    /** A Celery protocol v2 task message whose task id names it. */
    protected OutboundMessage message(String queue, int priority, String id) {
        TaskMessage m = TaskMessage.builder("contract.task", id)
                .args(List.of(id))
                .kwargs(Map.of())
                .routingKey(queue)
                .priority(priority)
                .deliveryTag(UUID.randomUUID().toString())
                .build();
        return new OutboundMessage(queue, priority, codec.encode(m), id, null);
    }

    protected String idOf(Delivery d) {
        return codec.decode(d.message()).id();
    }

    /**
     * The message arrived as it was sent: the same body bytes, content type and headers, and every property sent
     * (except {@code delivery_tag} and {@code delivery_info}, which a transport may assign its own).
     */
    private static void assertUnchanged(BrokerMessage got, BrokerMessage sent, String what) {
        assertThat(got).as("%s: a message", what).isNotNull();
        assertThat(got.body()).as("%s: body", what).isEqualTo(sent.body());
        assertThat(got.contentType()).as("%s: content type", what).isEqualTo(sent.contentType());
        assertThat(got.headers()).as("%s: headers", what).isEqualTo(sent.headers());
        Map<String, Object> properties = new LinkedHashMap<>(sent.properties());
        properties.remove("delivery_tag");
        properties.remove("delivery_info");
        assertThat(got.properties()).as("%s: properties", what).containsAllEntriesOf(properties);
    }

    private static DeadLetterQueue deadLetterQueue(Broker b) {
        assumeTrue(b.deadLetterQueue().isPresent(), "this broker keeps no dead-letter queue to read back");
        return b.deadLetterQueue().orElseThrow();
    }

    private static OnceDispatch onceDispatch(Broker b) {
        assumeTrue(b.onceDispatch().isPresent(), "this broker cannot publish once per key");
        return b.onceDispatch().orElseThrow();
    }

    private static List<String> ids(BrokerContract c, Collection<Delivery> ds) {
        return ds.stream().map(c::idOf).toList();
    }

    private static List<Delivery> reserveAll(Broker b, List<String> queues, int max) throws InterruptedException {
        return b.reserve(queues, max, SHORT);
    }

    // ------------------------------------------------------------------ delivery

    @Test
    void aPublishedMessageIsDeliveredUnchanged() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            OutboundMessage m = message("contract.a", 0, "m1");
            b.publish(m);
            assertThat(b.queueLength("contract.a")).isEqualTo(1);
            List<Delivery> got = b.reserve(QUEUES, 10, LONG);
            assertThat(got).hasSize(1);
            assertUnchanged(got.get(0).message(), m.message(), "m1");
            assertThat(got.get(0).queue()).isEqualTo("contract.a");
            assertThat(b.queueLength("contract.a")).as("a reserved message is not waiting").isZero();
            b.ack(got);
        }
    }

    @Test
    void reserveOnEmptyQueuesReturnsNothingAfterTheWait() throws Exception {
        try (Transport t = open()) {
            assertThat(t.connect().reserve(QUEUES, 5, SHORT)).isEmpty();
        }
    }

    @Test
    void aWaitingReserveReturnsAMessagePublishedMeanwhile() throws Exception {
        try (Transport t = open()) {
            Broker consumer = t.connect();
            Broker producer = t.connect();
            java.util.concurrent.FutureTask<List<Delivery>> waiting = io.celeriac.fixtures.BlockingCall
                    .startAndAwaitBlocked("contract-reserve", () -> consumer.reserve(QUEUES, 5, LONG));
            producer.publish(message("contract.b", 0, "late"));
            List<Delivery> got = waiting.get(LONG.toSeconds() + 10, TimeUnit.SECONDS);
            assertThat(ids(this, got)).containsExactly("late");
        }
    }

    @Test
    void reserveTakesAtMostMaxAndFirstInFirstOut() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            List<OutboundMessage> batch = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                batch.add(message("contract.a", 0, "m" + i));
            }
            b.publish(batch);
            List<Delivery> first = b.reserve(QUEUES, 4, LONG);
            assertThat(ids(this, first)).containsExactly("m0", "m1", "m2", "m3");
            assertThat(b.queueLength("contract.a")).isEqualTo(6);
            b.ack(first);
        }
    }

    @Test
    void queuesAreServedInTurn() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            List<OutboundMessage> batch = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                batch.add(message("contract.a", 0, "busy" + i));
            }
            for (int i = 0; i < 10; i++) {
                batch.add(message("contract.b", 0, "quiet" + i));
            }
            b.publish(batch);
            List<String> served = new ArrayList<>();
            while (served.size() < 30) {
                List<Delivery> got = b.reserve(QUEUES, 4, LONG);
                served.addAll(ids(this, got));
                b.ack(got);
            }
            // In turn: the quiet queue gets every other message while both have some, so its ten are all out
            // within the first thirty; served in order, none of them would be.
            assertThat(served.subList(0, 30)).filteredOn(id -> id.startsWith("quiet")).hasSize(10);
        }
    }

    @Test
    void priorityDecidesTheOrderWithinAQueue() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            b.publish(List.of(message("contract.a", 0, "p0"), message("contract.a", 9, "p9"),
                    message("contract.a", 3, "p3"), message("contract.a", 6, "p6")));
            List<String> served = new ArrayList<>();
            while (served.size() < 4) {
                List<Delivery> got = b.reserve(QUEUES, 1, LONG);
                served.addAll(ids(this, got));
                b.ack(got);
            }
            if (!t.honoursPriorities()) {
                assertThat(served).containsExactly("p0", "p9", "p3", "p6");
            } else if (t.lowerNumberFirst()) {
                assertThat(served).containsExactly("p0", "p3", "p6", "p9");
            } else {
                assertThat(served).containsExactly("p9", "p6", "p3", "p0");
            }
        }
    }

    // ------------------------------------------------------------------ settling

    @Test
    void anAckedMessageNeverComesBackEvenAfterItsConsumerDies() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker survivor = t.connect();
            victim.publish(List.of(message("contract.a", 0, "acked"), message("contract.a", 0, "held")));
            List<Delivery> got = victim.reserve(QUEUES, 2, LONG);
            assertThat(got).hasSize(2);
            victim.ack(List.of(got.get(0)));
            t.crash(victim);
            t.awaitRecovery(survivor);
            List<Delivery> back = survivor.reserve(QUEUES, 10, LONG);
            assertThat(ids(this, back)).containsExactly("held");
            assertUnchanged(back.get(0).message(), got.get(1).message(), "held, delivered again");
            survivor.ack(back);
            assertThat(reserveAll(survivor, QUEUES, 10)).isEmpty();
        }
    }

    @Test
    void ackAndReserveAcksFirstThenTakesTheNextAndTheAckedNeverComeBack() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker survivor = t.connect();
            List<Delivery> got = publishFourAndTakeTwo(victim);
            List<Delivery> next = victim.ackAndReserve(List.of(got.get(0)), QUEUES, 1, Duration.ZERO);
            assertThat(ids(this, next)).as("one place was asked for, one message taken").containsExactly("third");
            assertThat(victim.ackAndReserve(List.of(), QUEUES, 0, Duration.ZERO)).as("no room, nothing taken")
                    .isEmpty();
            // Acking what was acked already (a retried call) changes nothing.
            assertThat(victim.ackAndReserve(List.of(got.get(0)), QUEUES, 0, Duration.ZERO)).isEmpty();
            crashAndCheckOnlyTheFirstWasAcked(t, victim, survivor);
        }
    }

    /** Publishes first, second, third and fourth to contract.a; {@code b} takes the first two. */
    private List<Delivery> publishFourAndTakeTwo(Broker b) throws InterruptedException {
        b.publish(List.of(message("contract.a", 0, "first"), message("contract.a", 0, "second"),
                message("contract.a", 0, "third"), message("contract.a", 0, "fourth")));
        List<Delivery> got = b.reserve(QUEUES, 2, LONG);
        assertThat(ids(this, got)).containsExactly("first", "second");
        return got;
    }

    /** {@code victim} dies holding what it took: all of it comes back to the survivor but "first", which it acked. */
    private void crashAndCheckOnlyTheFirstWasAcked(Transport t, Broker victim, Broker survivor) throws Exception {
        t.crash(victim);
        t.awaitRecovery(survivor);
        List<Delivery> back = reserveAll(survivor, QUEUES, 10);
        assertThat(ids(this, back)).as("the acked message never comes back; the held ones do")
                .containsExactlyInAnyOrder("second", "third", "fourth");
        survivor.ack(back);
    }

    @Test
    void storeAckAndReserveStoresTheResultsThenAcksThenTakesTheNext() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker survivor = t.connect();
            try (ResultBackend backend = t.resultBackend()) {
                List<Delivery> got = publishFourAndTakeTwo(victim);
                ResultDocument done = ResultDocument.of("first", TaskState.SUCCESS, Map.of("sum", 3));
                ResultDocument alone = ResultDocument.of("no-message", TaskState.FAILURE, "stored all the same");
                List<Delivery> next = victim.storeAckAndReserve(backend, List.of(done, alone), List.of(got.get(0)),
                        QUEUES, 1, Duration.ZERO);
                assertThat(ids(this, next)).as("one place was asked for, one message taken").containsExactly("third");
                assertThat(backend.get("first")).as("stored before the ack").hasValueSatisfying(r -> {
                    assertThat(r.status()).isEqualTo(TaskState.SUCCESS);
                    assertThat(r.result()).isEqualTo(Map.of("sum", 3));
                });
                assertThat(backend.get("no-message")).hasValueSatisfying(r ->
                        assertThat(r.result()).isEqualTo("stored all the same"));
                // Written again (a call whose answer was lost is retried): the same outcome, nothing taken.
                assertThat(victim.storeAckAndReserve(backend, List.of(done), List.of(got.get(0)), QUEUES, 0,
                        Duration.ZERO)).isEmpty();
                assertThat(backend.get("first")).hasValueSatisfying(r -> assertThat(r.status())
                        .isEqualTo(TaskState.SUCCESS));
                crashAndCheckOnlyTheFirstWasAcked(t, victim, survivor);
            }
        }
    }

    @Test
    void aReserveStartedAheadDoesWhatStoreAckAndReserveDoesWhenAwaited() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker survivor = t.connect();
            try (ResultBackend backend = t.resultBackend()) {
                List<Delivery> got = publishFourAndTakeTwo(victim);
                ResultDocument done = ResultDocument.of("first", TaskState.SUCCESS, Map.of("sum", 3));
                Reservation ahead = victim.startStoreAckAndReserve(backend, List.of(done), List.of(got.get(0)),
                        QUEUES, 1);
                assertThat(ids(this, ahead.await())).as("one place was asked for, the oldest taken")
                        .containsExactly("third");
                assertThat(backend.get("first")).as("stored before the ack").hasValueSatisfying(r ->
                        assertThat(r.result()).isEqualTo(Map.of("sum", 3)));
                Reservation none = victim.startStoreAckAndReserve(backend, List.of(done), List.of(got.get(0)), QUEUES,
                        0);
                assertThat(none.await()).as("no room, nothing taken; writing again changes nothing").isEmpty();
                crashAndCheckOnlyTheFirstWasAcked(t, victim, survivor);
            }
        }
    }

    /**
     * A consumer may have {@link Broker#reservesUnderWay} reserves under way at once: each takes its own messages and
     * writes what it carries, whichever way the broker runs them.
     */
    @Test
    void twoReservesUnderWayTakeTheirOwnMessagesAndEachWritesWhatItCarries() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker survivor = t.connect();
            try (ResultBackend backend = t.resultBackend()) {
                List<OutboundMessage> six = new ArrayList<>();
                for (int i = 1; i <= 6; i++) {
                    six.add(message("contract.a", 0, "m" + i));
                }
                victim.publish(six);
                List<Delivery> got = victim.reserve(QUEUES, 2, LONG);
                assertThat(ids(this, got)).containsExactly("m1", "m2");
                ResultDocument done = ResultDocument.of("m1", TaskState.SUCCESS, 1);
                Reservation first = victim.startStoreAckAndReserve(backend, List.of(done), List.of(got.get(0)),
                        QUEUES, 2);
                Reservation second = victim.startStoreAckAndReserve(backend, List.of(), List.of(got.get(1)),
                        QUEUES, 2);
                assertThat(ids(this, first.await())).containsExactly("m3", "m4");
                assertThat(ids(this, second.await())).containsExactly("m5", "m6");
                assertThat(backend.get("m1")).as("stored before its ack").hasValueSatisfying(r ->
                        assertThat(r.status()).isEqualTo(TaskState.SUCCESS));
                t.crash(victim);
                t.awaitRecovery(survivor);
                List<Delivery> back = reserveAll(survivor, QUEUES, 10);
                assertThat(ids(this, back)).as("both acks were written; what both calls took comes back")
                        .containsExactlyInAnyOrder("m3", "m4", "m5", "m6");
                survivor.ack(back);
            }
        }
    }

    @Test
    void aDeadConsumersMessagesComeBackAndALiveOnesStayWithIt() throws Exception {
        try (Transport t = open()) {
            Broker victim = t.connect();
            Broker alive = t.connect();
            Broker survivor = t.connect();
            List<OutboundMessage> batch = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                batch.add(message("contract.a", 0, "m" + i));
            }
            victim.publish(batch);
            List<Delivery> victims = victim.reserve(QUEUES, 3, LONG);
            List<Delivery> alives = alive.reserve(QUEUES, 3, LONG);
            assertThat(victims).hasSize(3);
            assertThat(alives).hasSize(3);
            t.crash(victim);
            t.awaitRecovery(survivor);
            List<Delivery> back = new ArrayList<>();
            List<Delivery> got;
            while (!(got = survivor.reserve(QUEUES, 10, SHORT)).isEmpty()) {
                back.addAll(got);
            }
            assertThat(ids(this, back)).containsExactlyInAnyOrderElementsOf(ids(this, victims));
            alive.ack(alives);
            survivor.ack(back);
        }
    }

    @Test
    void aRequeuedMessageIsServedNext() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            b.publish(List.of(message("contract.a", 0, "first"), message("contract.a", 0, "second")));
            List<Delivery> got = b.reserve(QUEUES, 1, LONG);
            assertThat(ids(this, got)).containsExactly("first");
            b.requeue(got);
            assertThat(b.queueLength("contract.a")).isEqualTo(2);
            if (!t.requeueGoesFirst()) {
                List<String> both = new ArrayList<>();
                while (both.size() < 2) {
                    List<Delivery> next = b.reserve(QUEUES, 2, LONG);
                    both.addAll(ids(this, next));
                    b.ack(next);
                }
                assertThat(both).containsExactly("second", "first");
                return;
            }
            List<Delivery> again = b.reserve(QUEUES, 1, LONG);
            assertThat(ids(this, again)).containsExactly("first");
            b.ack(again);
        }
    }

    @Test
    void aDeferredMessageComesBackWhenDue() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            b.publish(message("contract.a", 0, "later"));
            List<Delivery> got = b.reserve(QUEUES, 1, LONG);
            b.defer(got.get(0), Instant.now().plusMillis(500));
            assertThat(b.queueLength("contract.a")).as("held by the broker, not waiting").isZero();
            List<Delivery> due = b.reserve(QUEUES, 1, LONG);
            assertThat(ids(this, due)).containsExactly("later");
            b.ack(due);
        }
    }

    @Test
    void aDeadLetterKeepsItsMessageAndReasonAndCanBeRequeuedOrDiscarded() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            DeadLetterQueue dlq = deadLetterQueue(b);
            long before = dlq.count();
            b.publish(List.of(message("contract.a", 0, "bad1"), message("contract.a", 0, "bad2")));
            List<Delivery> got = b.reserve(QUEUES, 2, LONG);
            assertThat(got).hasSize(2);
            b.deadLetter(got.get(0), "reason one");
            b.deadLetter(got.get(1), "reason two");
            assertThat(dlq.count()).isEqualTo(before + 2);
            List<DeadLetter> letters = dlq.list(10);
            DeadLetter one = letters.stream().filter(d -> d.reason().equals("reason one")).findFirst().orElseThrow();
            assertUnchanged(one.message(), got.get(0).message(), "dead letter bad1");
            assertThat(one.queue()).isEqualTo("contract.a");
            assertThat(dlq.requeue(one.id())).isTrue();
            assertThat(dlq.requeue(one.id())).as("only once").isFalse();
            List<Delivery> back = b.reserve(QUEUES, 5, LONG);
            assertThat(ids(this, back)).containsExactly("bad1");
            assertUnchanged(back.get(0).message(), got.get(0).message(), "bad1, requeued from the dead letters");
            b.ack(back);
            DeadLetter two = dlq.list(10).stream().filter(d -> d.reason().equals("reason two")).findFirst()
                    .orElseThrow();
            assertThat(dlq.discard(two.id())).isTrue();
            assertThat(dlq.discard(two.id())).as("only once").isFalse();
            assertThat(dlq.count()).isEqualTo(before);
            // Dead letters are settled: a dead consumer does not bring them back.
            assertThat(reserveAll(b, QUEUES, 5)).isEmpty();
        }
    }

    @Test
    void aDeliveryAlreadyAckedCanStillBeDeadLettered() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            DeadLetterQueue dlq = deadLetterQueue(b);
            long before = dlq.count();
            b.publish(message("contract.a", 0, "early"));
            List<Delivery> got = b.reserve(QUEUES, 1, LONG);
            assertThat(got).hasSize(1);
            // Acked on start, then found unable to run (acks early): the record is written all the same.
            b.ack(got);
            b.deadLetter(got.get(0), "acked, then refused");
            assertThat(dlq.count()).isEqualTo(before + 1);
            DeadLetter letter = dlq.list(10).stream().filter(d -> d.reason().equals("acked, then refused"))
                    .findFirst().orElseThrow();
            assertUnchanged(letter.message(), got.get(0).message(), "dead letter of an acked delivery");
            assertThat(letter.queue()).isEqualTo("contract.a");
            assertThat(reserveAll(b, QUEUES, 5)).as("nothing comes back").isEmpty();
        }
    }

    @Test
    void publishOnceSendsOncePerKeyUntilForgotten() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            OnceDispatch once = onceDispatch(b);
            assertThat(once.publishOnce("contract.once", Duration.ofMinutes(1), message("contract.a", 0, "o1")))
                    .isTrue();
            assertThat(once.publishOnce("contract.once", Duration.ofMinutes(1), message("contract.a", 0, "o2")))
                    .isFalse();
            once.forget("contract.once");
            assertThat(once.publishOnce("contract.once", Duration.ofMinutes(1), message("contract.a", 0, "o3")))
                    .isTrue();
            List<String> served = new ArrayList<>();
            List<Delivery> got;
            while (!(got = b.reserve(QUEUES, 10, SHORT)).isEmpty()) {
                served.addAll(ids(this, got));
                b.ack(got);
            }
            assertThat(served).containsExactly("o1", "o3");
        }
    }

    @Test
    void purgeEmptiesOneQueueOfAllPriorities() throws Exception {
        try (Transport t = open()) {
            Broker b = t.connect();
            b.publish(List.of(message("contract.a", 0, "a0"), message("contract.a", 9, "a9"),
                    message("contract.b", 0, "b0")));
            assertThat(b.queueLength("contract.a")).isEqualTo(2);
            assertThat(b.purge("contract.a")).isEqualTo(2);
            assertThat(b.queueLength("contract.a")).isZero();
            assertThat(ids(this, b.reserve(QUEUES, 10, LONG))).containsExactly("b0");
        }
    }

    /**
     * Where a broker counts consumers, a consumer running as a worker does (its window told, reading the queue) is
     * counted while it lives, on that queue only, and no longer once it stopped or died. A broker that cannot count
     * them all says nothing rather than a partial count.
     */
    @Test
    void aConsumerCountWhenKnownFollowsConsumersComingAndGoing() throws Exception {
        try (Transport t = open()) {
            Broker observer = t.connect();
            observer.declare(QUEUES);
            assumeTrue(observer.consumerCount("contract.a").isPresent(), "this broker does not count consumers");
            assertThat(observer.consumerCount("contract.a")).hasValue(0);
            assertThat(observer.consumerCount("contract.never-declared")).hasValue(0);

            Broker first = t.connect();
            Broker second = t.connect();
            for (Broker c : List.of(first, second)) {
                c.prefetchCount(4); // as a worker does at start
                assertThat(c.reserve(List.of("contract.a"), 1, SHORT)).isEmpty();
            }
            await().atMost(LONG).untilAsserted(() -> assertThat(observer.consumerCount("contract.a")).hasValue(2));
            assertThat(observer.consumerCount("contract.b")).as("a queue nobody reads").hasValue(0);

            first.prefetchCount(0); // as a worker does when it stops consuming
            await().atMost(LONG).untilAsserted(() -> assertThat(observer.consumerCount("contract.a")).hasValue(1));
            t.crash(second);
            await().atMost(LONG).untilAsserted(() -> assertThat(observer.consumerCount("contract.a")).hasValue(0));
        }
    }

    // ------------------------------------------------------------------ random sequences against a model

    /** The model: where each message should be, and the consumers alive. */
    final class Run {
        final Transport transport;
        final List<Broker> consumers = new ArrayList<>();
        final Map<Broker, Map<String, Delivery>> inflight = new HashMap<>();
        /** Per queue, per priority step: ids never delivered yet, oldest first. */
        final Map<String, Deque<String>> fresh = new HashMap<>();
        /** Ids waiting again after a requeue or a kill: served in an order the transport chooses. */
        final Set<String> returned = new HashSet<>();
        final Map<String, String> queueOf = new HashMap<>();
        final Map<String, BrokerMessage> messageOf = new HashMap<>();
        final Map<String, Integer> stepOf = new HashMap<>();
        final Set<String> acked = new HashSet<>();
        final Set<String> dead = new HashSet<>();
        final List<String> log = new ArrayList<>();
        int next;

        Run(Transport transport) {
            this.transport = transport;
            consumers.add(transport.connect());
            inflight.put(consumers.get(0), new LinkedHashMap<>());
        }

        Broker any() {
            return consumers.get(0);
        }

        void publish(String queue, int priority, int n) {
            List<OutboundMessage> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "r" + next++;
                OutboundMessage m = message(queue, priority, id);
                batch.add(m);
                queueOf.put(id, queue);
                messageOf.put(id, m.message());
                int step = PriorityLists.step(priority);
                stepOf.put(id, step);
                fresh.computeIfAbsent(queue + "/" + step, k -> new ArrayDeque<>()).addLast(id);
            }
            any().publish(batch);
        }

        void reserve(int consumer, int max) throws InterruptedException {
            Broker c = consumers.get(consumer % consumers.size());
            long waiting = fresh.values().stream().mapToLong(Deque::size).sum() + returned.size();
            List<Delivery> got = c.reserve(QUEUES, max, waiting > 0 ? LONG : Duration.ZERO);
            if (waiting > 0) {
                assertThat(got).as("messages are waiting, so a reserve gets some").isNotEmpty();
            }
            assertThat(got.size()).isLessThanOrEqualTo(max);
            for (Delivery d : got) {
                String id = idOf(d);
                assertUnchanged(d.message(), messageOf.get(id), "message " + id);
                assertThat(d.queue()).isEqualTo(queueOf.get(id));
                for (Map<String, Delivery> held : inflight.values()) {
                    assertThat(held).as("%s is not held by another consumer", id).doesNotContainKey(id);
                }
                assertThat(acked).as("%s was acked: it never comes back", id).doesNotContain(id);
                assertThat(dead).as("%s was dead-lettered: it never comes back", id).doesNotContain(id);
                // Requeued and restored messages come back in an order the transport chooses; never-delivered
                // ones leave each (queue, priority) first in, first out.
                if (!returned.remove(id)) {
                    Deque<String> list = fresh.get(queueOf.get(id) + "/" + stepOf.get(id));
                    assertThat(list).as("%s was waiting", id).isNotNull().contains(id);
                    assertThat(list.peekFirst()).as("first in, first out among never-delivered messages")
                            .isEqualTo(id);
                    list.removeFirst();
                }
                inflight.get(c).put(id, d);
            }
        }

        List<Delivery> pick(Broker c, int n) {
            return inflight.get(c).values().stream().limit(n).toList();
        }

        void ack(int consumer, int n) {
            Broker c = consumers.get(consumer % consumers.size());
            List<Delivery> ds = pick(c, n);
            c.ack(ds);
            for (Delivery d : ds) {
                String id = idOf(d);
                inflight.get(c).remove(id);
                acked.add(id);
            }
        }

        void requeue(int consumer, int n) {
            Broker c = consumers.get(consumer % consumers.size());
            List<Delivery> ds = pick(c, n);
            c.requeue(ds);
            for (Delivery d : ds) {
                String id = idOf(d);
                inflight.get(c).remove(id);
                returned.add(id);
            }
        }

        void deadLetter(int consumer) {
            Broker c = consumers.get(consumer % consumers.size());
            List<Delivery> ds = pick(c, 1);
            for (Delivery d : ds) {
                c.deadLetter(d, "contract");
                String id = idOf(d);
                inflight.get(c).remove(id);
                dead.add(id);
            }
        }

        void kill(int consumer) throws Exception {
            if (consumers.size() < 2) {
                connect();
            }
            Broker c = consumers.remove(consumer % consumers.size());
            transport.crash(c);
            returned.addAll(inflight.remove(c).keySet());
            transport.awaitRecovery(any());
        }

        void connect() {
            Broker c = transport.connect();
            consumers.add(c);
            inflight.put(c, new LinkedHashMap<>());
        }

        /** The broker holds exactly what the model says is waiting, queue by queue. */
        void check() {
            for (String q : QUEUES) {
                long expected = fresh.entrySet().stream().filter(e -> e.getKey().startsWith(q + "/"))
                        .mapToLong(e -> e.getValue().size()).sum()
                        + returned.stream().filter(id -> queueOf.get(id).equals(q)).count();
                assertThat(any().queueLength(q)).as("messages waiting in %s after %s", q, log).isEqualTo(expected);
            }
        }

        /** At the end every message is accounted for: drained from the queues, held, acked or dead, once. */
        void drain() throws Exception {
            for (Broker c : new ArrayList<>(consumers)) {
                c.requeue(new ArrayList<>(inflight.get(c).values()));
                returned.addAll(inflight.get(c).keySet());
                inflight.get(c).clear();
            }
            Set<String> expected = new HashSet<>(returned);
            fresh.values().forEach(expected::addAll);
            List<String> drained = new ArrayList<>();
            List<Delivery> got;
            while (!(got = any().reserve(QUEUES, 100, SHORT)).isEmpty()) {
                drained.addAll(ids(BrokerContract.this, got));
                any().ack(got);
            }
            assertThat(drained).as("every waiting message delivered exactly once").doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(expected);
            Set<String> all = new HashSet<>(drained);
            all.addAll(acked);
            all.addAll(dead);
            assertThat(all).hasSize(next);
        }
    }

    private Run current;

    @Property(tries = 60)
    void randomSequencesKeepEveryMessageExactlyOnce(@ForAll("chains") ActionChain<Run> chain) throws Exception {
        try {
            Run end = chain.withInvariant("queue lengths match the model", Run::check).run();
            end.drain();
        } finally {
            if (current != null) {
                for (Broker c : current.consumers) {
                    c.close();
                }
                current.transport.close();
                current = null;
            }
        }
    }

    @Provide
    Arbitrary<ActionChain<Run>> chains() {
        return ActionChain.<Run>startWith(() -> {
            try {
                current = new Run(open());
                return current;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).withAction(3, act(Combinators.combine(Arbitraries.of(QUEUES),
                        Arbitraries.of(0, 3, 6, 9), Arbitraries.integers().between(1, 5))
                .as((q, p, n) -> Transformer.<Run>mutate("publish " + n + " to " + q + " at " + p, (Run r) -> {
                    r.log.add("publish " + n + " " + q + " " + p);
                    r.publish(q, p, n);
                }))))
                .withAction(3, act(Combinators.combine(Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(1, 6)).as((c, n) -> Transformer.<Run>mutate(
                        "consumer " + c + " reserves " + n, (Run r) -> {
                            r.log.add("reserve " + c + " " + n);
                            sneaky(() -> r.reserve(c, n));
                        }))))
                .withAction(2, act(Combinators.combine(Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(1, 4)).as((c, n) -> Transformer.<Run>mutate(
                        "consumer " + c + " acks " + n, (Run r) -> {
                            r.log.add("ack " + c + " " + n);
                            r.ack(c, n);
                        }))))
                .withAction(1, act(Combinators.combine(Arbitraries.integers().between(0, 3),
                        Arbitraries.integers().between(1, 3)).as((c, n) -> Transformer.<Run>mutate(
                        "consumer " + c + " requeues " + n, (Run r) -> {
                            r.log.add("requeue " + c + " " + n);
                            r.requeue(c, n);
                        }))))
                .withAction(1, act(Arbitraries.integers().between(0, 3).map(c -> Transformer.<Run>mutate(
                        "consumer " + c + " dead-letters one", (Run r) -> {
                            r.log.add("dead " + c);
                            r.deadLetter(c);
                        }))))
                .withAction(1, act(Arbitraries.integers().between(0, 3).map(c -> Transformer.<Run>mutate(
                        "consumer " + c + " is killed", (Run r) -> {
                            r.log.add("kill " + c);
                            sneaky(() -> r.kill(c));
                        }))))
                .withAction(1, Action.just(Transformer.<Run>mutate("a consumer connects", (Run r) -> {
                    r.log.add("connect");
                    r.connect();
                })))
                .withMaxTransformations(25);
    }

    private static Action.Independent<Run> act(Arbitrary<Transformer<Run>> transformers) {
        return () -> transformers;
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void sneaky(Step s) {
        try {
            s.run();
        } catch (RuntimeException | AssertionError e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
