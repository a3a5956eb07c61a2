package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Queues are served in turn, as kombu's Redis transport serves them: priority-major across queues (lower number
 * first), and the queue that just delivered goes to the back of the order, carried from one reserve to the next.
 */
class RedisFairnessIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
    private final List<RedisBroker> brokers = new ArrayList<>();
    private RedisClient client;

    /** Records the label of every run, in completion order. */
    public static class FairTasks {
        static final ConcurrentLinkedQueue<String> DONE = new ConcurrentLinkedQueue<>();

        @Task(name = "fair.record", ignoreResult = Task.Toggle.ON)
        public void record(String label) {
            DONE.add(label);
        }
    }

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            c.sync().flushall();
        }
        FairTasks.DONE.clear();
    }

    @AfterEach
    void tearDown() {
        brokers.forEach(RedisBroker::close);
        client.shutdown();
    }

    private RedisBroker broker() {
        RedisBroker b = new RedisBroker(RedisUrl.parse(REDIS.url(0)), CeleriacConfig.defaults(), codec,
                Clock.systemUTC());
        brokers.add(b);
        return b;
    }

    private OutboundMessage message(String queue, int priority, String id) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey(queue).priority(priority)
                .deliveryTag(UUID.randomUUID().toString()).build();
        return new OutboundMessage(queue, priority, codec.encode(m), id, null);
    }

    private List<String> ids(List<Delivery> got) {
        return got.stream().map(d -> codec.decode(d.message()).id()).toList();
    }

    @Test
    void priorityStepsComeFirstAcrossQueuesAndQueuesTakeTurnsWithinAStep() throws Exception {
        RedisBroker b = broker();
        b.publish(List.of(message("a", 0, "a0-1"), message("a", 0, "a0-2"), message("a", 9, "a9"),
                message("b", 0, "b0-1"), message("b", 0, "b0-2"), message("b", 6, "b6")));

        // What kombu's BRPOP over [a, b, a\x06\x163, b\x06\x163, ...] returns message by message, rotating the queue
        // that delivered to the end: a0, b0, a0, b0, then step 6 (b) before step 9 (a): lower numbers win on Redis.
        assertThat(ids(b.reserve(List.of("a", "b"), 10, Duration.ofSeconds(1))))
                .containsExactly("a0-1", "b0-1", "a0-2", "b0-2", "b6", "a9");
    }

    @Test
    void theTurnCarriesOverFromOneReserveToTheNext() throws Exception {
        RedisBroker b = broker();
        List<OutboundMessage> batch = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            batch.add(message("a", 0, "a" + i));
            batch.add(message("b", 0, "b" + i));
        }
        b.publish(batch);

        List<String> served = new ArrayList<>();
        served.addAll(ids(b.reserve(List.of("a", "b"), 3, Duration.ofSeconds(1))));
        served.addAll(ids(b.reserve(List.of("a", "b"), 1, Duration.ofSeconds(1))));
        served.addAll(ids(b.reserve(List.of("a", "b"), 1, Duration.ofSeconds(1))));
        served.addAll(ids(b.reserve(List.of("a", "b"), 3, Duration.ofSeconds(1))));
        assertThat(served).containsExactly("a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3");
    }

    @Test
    void aBusyQueueDoesNotStarveTheOtherOnARealWorker() {
        int backlog = 5000;
        int others = 20;
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).hostname("fair@test").build()).register(new FairTasks()).build()) {
            List<Signature> sigs = new ArrayList<>();
            for (int i = 0; i < backlog; i++) {
                sigs.add(app.signature("fair.record", List.of("busy"), Map.of(),
                        SendOptions.builder().queue("busy").build()));
                if (sigs.size() == 500) {
                    app.sendAll(sigs);
                    sigs.clear();
                }
            }
            for (int i = 0; i < others; i++) {
                sigs.add(app.signature("fair.record", List.of("render"), Map.of(),
                        SendOptions.builder().queue("render").build()));
            }
            app.sendAll(sigs);

            // The busy queue is named first: a worker draining queue by queue would run all 5,000 before any render.
            Worker worker = app.worker().queues("busy", "render").concurrency(4).start();
            try {
                await().atMost(Duration.ofMinutes(2)).until(() ->
                        FairTasks.DONE.stream().filter("render"::equals).count() == others);
                List<String> order = new ArrayList<>(FairTasks.DONE);
                int lastRender = order.lastIndexOf("render");
                long busyBefore = order.subList(0, lastRender).stream().filter("busy"::equals).count();
                // Served in turn, each render waits for about one busy task (plus what the prefetch window already
                // held), so the renders are done after a few dozen busy tasks, not after the backlog.
                assertThat(busyBefore).as("busy tasks finished before the last render task").isLessThan(500);

                await().atMost(Duration.ofMinutes(3)).until(() -> FairTasks.DONE.size() == backlog + others);
            } finally {
                worker.shutdown(Duration.ofSeconds(10));
            }
        }
    }
}
