package io.celeriac.amqp;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Quorum queues ({@code task_default_queue_type=quorum}): a real worker with its prefetch window (standing consumers,
 * no channel-wide qos, which quorum queues refuse), and a poison message returned past its {@code delivery_limit},
 * which RabbitMQ dead-letters into our dead-letter queue where it shows with a reason and can be requeued.
 */
class QuorumQueuesIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private final MessageCodec codec = new MessageCodec();

    @Test
    void aWorkerWithItsPrefetchWindowRunsEachTaskOnceOnQuorumQueues() {
        TestTasks.reset();
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder()
                .brokerUrl(RABBIT.url() + "?task_default_queue_type=quorum")
                .resultBackend("memory://").acksLate(true).hostname("quorum-it@test").build())
                .register(new TestTasks()).build()) {
            Worker worker = app.worker().concurrency(8).start();
            try {
                List<Signature> sigs = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    sigs.add(app.signature("t.add", i, 1));
                }
                List<AsyncResult> results = app.sendAll(sigs);
                for (int i = 0; i < results.size(); i++) {
                    assertThat(results.get(i).get(Duration.ofSeconds(30))).isEqualTo(i + 1);
                }
                assertThat(TestTasks.CALLS.get("t.add").get()).isEqualTo(1000);
                AmqpBroker broker = (AmqpBroker) app.broker();
                await().atMost(Duration.ofSeconds(5)).until(() -> broker.queueLength("celery") == 0);
            } finally {
                worker.shutdownNow();
            }
        }
    }

    @Test
    void aMessageReturnedPastItsDeliveryLimitIsDeadLetteredWithAReason() throws Exception {
        String queue = "quorum.poison";
        String url = RABBIT.url() + "?task_default_queue_type=quorum&delivery_limit=2";
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url).build();
        try (AmqpBroker broker = new AmqpBroker(url, config)) {
            TaskMessage poison = TaskMessage.builder("t.crashes_the_worker", "p1").args(List.of(1)).kwargs(Map.of())
                    .build();
            broker.publish(new OutboundMessage(queue, 0, codec.encode(poison), "p1", null));

            // Delivered and given back, as a worker that dies on it would: the first delivery and two returns more.
            int deliveries = 0;
            while (true) {
                List<Delivery> got = broker.reserve(List.of(queue), 1, Duration.ofSeconds(2));
                if (got.isEmpty()) {
                    break;
                }
                deliveries++;
                broker.requeue(got);
            }

            assertThat(deliveries).isEqualTo(3);
            List<DeadLetter> dead = await().atMost(Duration.ofSeconds(10))
                    .until(() -> broker.deadLetterQueue().orElseThrow().list(10), l -> !l.isEmpty());
            assertThat(dead).hasSize(1);
            DeadLetter letter = dead.get(0);
            assertThat(letter.queue()).isEqualTo(queue);
            assertThat(letter.reason()).contains("delivery_limit").contains("x-delivery-limit");
            assertThat(letter.time()).isAfter(java.time.Instant.now().minusSeconds(60));
            assertThat(codec.decode(letter.message()).id()).isEqualTo("p1");
            assertThat(letter.message().headers()).doesNotContainKeys("x-death", "x-delivery-count");
            // The same record, the same id, at every browse: it can be requeued by it.
            assertThat(broker.deadLetterQueue().orElseThrow().list(10).get(0).id()).isEqualTo(letter.id());

            assertThat(broker.deadLetterQueue().orElseThrow().requeue(letter.id())).isTrue();
            List<Delivery> back = broker.reserve(List.of(queue), 1, Duration.ofSeconds(10));
            assertThat(back).hasSize(1);
            assertThat(codec.decode(back.get(0).message()).id()).isEqualTo("p1");
            broker.ack(back);
            assertThat(broker.deadLetterQueue().orElseThrow().count()).isZero();
        }
    }
}
