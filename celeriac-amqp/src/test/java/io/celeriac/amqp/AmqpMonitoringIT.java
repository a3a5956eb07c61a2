package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.ControlBus;
import io.celeriac.broker.EventBus;
import io.celeriac.control.ControlMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Events and remote control on RabbitMQ between Celeriac clients, and the layout as kombu declares it: what kombu
 * would declare is accepted by RabbitMQ as equivalent (no PRECONDITION_FAILED), and messages carry Celery's
 * properties and headers. {@code CeleryAmqpInteropIT} (interop module) runs the real Celery against the same code.
 */
class AmqpMonitoringIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private AmqpBroker worker;
    private AmqpBroker client;
    private Connection raw;

    @BeforeEach
    void setUp() throws Exception {
        worker = new AmqpBroker(RABBIT.url(), CeleriacConfig.builder().build());
        client = new AmqpBroker(RABBIT.url(), CeleriacConfig.builder().build());
        raw = observer();
    }

    /** A plain client connection of the test's own (guest, vhost /). */
    private static Connection observer() throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(RABBIT.port());
        return f.newConnection("test-observer");
    }

    @AfterEach
    void tearDown() throws Exception {
        worker.close();
        client.close();
        raw.close();
    }

    private static Map<String, Object> kombuArgs(int ttlMillis, int expiresMillis) {
        Map<String, Object> args = new HashMap<>();
        args.put("x-message-ttl", ttlMillis);
        args.put("x-expires", expiresMillis);
        return args;
    }

    @Test
    void eventsReachEveryReceiverOneAtATimeWithCeleryRoutingKeysAndHeaders() throws Exception {
        EventBus bus = worker.eventBus().orElseThrow();
        List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
        // An observer bound as `celery events` binds, reading routing keys and properties off the wire.
        Channel ch = raw.createChannel();
        ch.exchangeDeclare("celeryev", "topic", true, false, null);
        String q = ch.queueDeclare("celeryev.observer", false, false, true, kombuArgs(5000, 60000)).getQueue();
        ch.queueBind(q, "celeryev", "#");

        try (AutoCloseable sub = client.eventBus().orElseThrow().subscribe(seen::add)) {
            bus.publish("worker.heartbeat", "w1@host", Map.of("type", "worker-heartbeat", "hostname", "w1@host"));
            bus.publish("task.multi", "w1@host", List.of(Map.of("type", "task-received", "uuid", "t1"),
                    Map.of("type", "task-succeeded", "uuid", "t1")));

            await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 3);
            assertThat(seen).extracting(e -> e.get("type"))
                    .containsExactly("worker-heartbeat", "task-received", "task-succeeded");
        }

        GetResponse heartbeat = ch.basicGet(q, true);
        assertThat(heartbeat.getEnvelope().getExchange()).isEqualTo("celeryev");
        assertThat(heartbeat.getEnvelope().getRoutingKey()).isEqualTo("worker.heartbeat");
        AMQP.BasicProperties p = heartbeat.getProps();
        assertThat(p.getDeliveryMode()).as("transient, as EventDispatcher sends").isEqualTo(1);
        assertThat(p.getContentType()).isEqualTo("application/json");
        assertThat(p.getContentEncoding()).isEqualTo("utf-8");
        assertThat(p.getHeaders().get("hostname").toString()).isEqualTo("w1@host");
        GetResponse multi = ch.basicGet(q, true);
        assertThat(multi.getEnvelope().getRoutingKey()).isEqualTo("task.multi");
        assertThat(new String(multi.getBody(), StandardCharsets.UTF_8)).startsWith("[");
        ch.close();
    }

    @Test
    void aBroadcastIsAnsweredThroughTheNodesMailboxAndTheCallersReplyQueue() throws Exception {
        ControlBus workerBus = worker.controlBus().orElseThrow();
        try (AutoCloseable sub = workerBus.subscribe("w1@host", m -> {
            if (m.isFor("w1@host")) {
                workerBus.reply(m, "w1@host", Map.of("ok", "pong"));
            }
        })) {
            // The mailbox is as kombu's Mailbox.get_queue declares it: redeclaring with those flags is accepted.
            Channel ch = raw.createChannel();
            AMQP.Queue.DeclareOk ok = ch.queueDeclare("w1@host.celery.pidbox", false, false, true,
                    kombuArgs(300_000, 10_000));
            assertThat(ok.getConsumerCount()).isEqualTo(1);
            ch.exchangeDeclare("celery.pidbox", "fanout", false, false, null);
            ch.exchangeDeclare("reply.celery.pidbox", "direct", false, false, null);

            List<Map<String, Object>> replies = client.controlBus().orElseThrow()
                    .broadcastAndCollect(ControlMessage.of("ping", Map.of()), Duration.ofSeconds(1));
            assertThat(replies).containsExactly(Map.of("w1@host", Map.of("ok", "pong")));

            // Addressed to other nodes only: no answer; addressed to w1: returns on its answer, before the timeout.
            assertThat(client.controlBus().orElseThrow().broadcastAndCollect(new ControlMessage("ping", Map.of(),
                    List.of("w2@host"), null, null), Duration.ofMillis(500))).isEmpty();
            long t0 = System.nanoTime();
            assertThat(client.controlBus().orElseThrow().broadcastAndCollect(new ControlMessage("ping", Map.of(),
                    List.of("w1@host"), null, null), Duration.ofSeconds(5))).hasSize(1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(4));
            ch.close();
        }
    }

    /**
     * Celery's event and control settings, set away from their defaults, are what the node holds: the exchanges are
     * named after {@code event_exchange} and {@code control_exchange}, a receiver's queue after
     * {@code event_queue_prefix}, and a queue redeclared with the arguments the settings make is accepted as
     * equivalent while one with Celery's defaults is refused (PRECONDITION_FAILED), so the queues carry exactly
     * {@code x-message-ttl} / {@code x-expires} from the settings, None leaving one out.
     */
    @Test
    void eventAndControlSettingsNameTheExchangesAndSetTheQueuesArguments() throws Exception {
        CeleriacConfig ops = CeleriacConfig.builder()
                .eventExchange("ops.events").eventQueuePrefix("opsmon").eventQueueTtl(Duration.ofMillis(1500))
                .eventQueueExpires(Duration.ofSeconds(20))
                .controlExchange("ops").controlQueueTtl(Duration.ofSeconds(2)).controlQueueExpires(null)
                .build();
        try (AmqpBroker opsWorker = new AmqpBroker(RABBIT.url(), ops);
             AmqpBroker opsClient = new AmqpBroker(RABBIT.url(), ops)) {
            // Events: published to ops.events (a queue of the test's bound there gets them) and received by a
            // receiver on the same settings, whose queue has the arguments they make.
            Channel ch = raw.createChannel();
            String before = RABBIT.cli("rabbitmqctl", "list_queues", "name", "--quiet", "--no-table-headers");
            List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
            try (AutoCloseable sub = opsClient.eventBus().orElseThrow().subscribe(seen::add)) {
                String receiverQueue = RABBIT.cli("rabbitmqctl", "list_queues", "name", "--quiet",
                        "--no-table-headers").lines().filter(q -> !before.contains(q)).findFirst().orElseThrow();
                assertThat(receiverQueue).startsWith("opsmon.");
                ch.exchangeDeclarePassive("ops.events"); // declared by the subscription, as Celery's receiver does
                String observed = ch.queueDeclare("", false, true, true, null).getQueue();
                ch.queueBind(observed, "ops.events", "#");
                opsWorker.eventBus().orElseThrow().publish("worker.heartbeat", "ops@host",
                        Map.of("type", "worker-heartbeat", "hostname", "ops@host"));
                await().atMost(Duration.ofSeconds(10)).until(() -> seen.size() == 1);
                await().atMost(Duration.ofSeconds(10)).until(() -> ch.basicGet(observed, true) != null);

                assertEquivalent(receiverQueue, kombuArgs(1500, 20_000));
                assertRefused(receiverQueue, kombuArgs(5000, 60_000));
            }

            // Remote control: the node reads <hostname>.ops.pidbox, bound to ops.pidbox, with x-message-ttl 2000
            // and no x-expires (control_queue_expires None); a caller on the same settings gets its answer, a
            // caller on Celery's defaults (celery.pidbox) does not reach it.
            ControlBus workerBus = opsWorker.controlBus().orElseThrow();
            try (AutoCloseable sub = workerBus.subscribe("ops@host", m -> workerBus.reply(m, "ops@host",
                    Map.of("ok", "pong")))) {
                ch.exchangeDeclarePassive("ops.pidbox");
                Map<String, Object> ttlOnly = new HashMap<>();
                ttlOnly.put("x-message-ttl", 2000);
                assertEquivalent("ops@host.ops.pidbox", ttlOnly);
                assertRefused("ops@host.ops.pidbox", kombuArgs(300_000, 10_000));

                assertThat(opsClient.controlBus().orElseThrow().broadcastAndCollect(ControlMessage.of("ping",
                        Map.of()), Duration.ofSeconds(5))).containsExactly(Map.of("ops@host", Map.of("ok", "pong")));
                ch.exchangeDeclarePassive("reply.ops.pidbox");
                assertThat(client.controlBus().orElseThrow().broadcastAndCollect(new ControlMessage("ping",
                        Map.of(), List.of("ops@host"), null, null), Duration.ofSeconds(1))).isEmpty();
            }
            ch.close();
        }
    }

    /**
     * Redeclaring {@code queue} as kombu declares an event or pidbox queue (not durable, auto-deleted) with
     * {@code args} is accepted: the queue has those flags and exactly those arguments.
     */
    private void assertEquivalent(String queue, Map<String, Object> args) throws Exception {
        Channel ch = raw.createChannel();
        assertThat(ch.queueDeclare(queue, false, false, true, args).getQueue()).isEqualTo(queue);
        ch.close();
    }

    /** Redeclaring {@code queue} with other {@code args} is refused by RabbitMQ (which closes the channel). */
    private void assertRefused(String queue, Map<String, Object> args) throws Exception {
        Channel ch = raw.createChannel();
        assertThatThrownBy(() -> ch.queueDeclare(queue, false, false, true, args))
                .hasStackTraceContaining("PRECONDITION_FAILED").hasStackTraceContaining(queue);
    }

    @Test
    void aMailboxDeletedUnderTheWorkerIsDeclaredAgain() throws Exception {
        ControlBus workerBus = worker.controlBus().orElseThrow();
        List<ControlMessage> got = new CopyOnWriteArrayList<>();
        try (AutoCloseable sub = workerBus.subscribe("w3@host", got::add)) {
            Channel ch = raw.createChannel();
            ch.queueDelete("w3@host.celery.pidbox");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                    ch.queueDeclarePassive("w3@host.celery.pidbox").getConsumerCount()).isEqualTo(1));
            client.controlBus().orElseThrow().broadcast(ControlMessage.of("rate_limit",
                    Map.of("task_name", "t.add", "rate_limit", "10/m")));
            await().atMost(Duration.ofSeconds(10)).until(() -> !got.isEmpty());
            assertThat(got.get(0).method()).isEqualTo("rate_limit");
            assertThat(got.get(0).arguments()).containsEntry("rate_limit", "10/m");
            ch.close();
        }
    }

    @Test
    void subscriptionsComeBackAfterRabbitMqRestarts() throws Exception {
        List<Map<String, Object>> events = new CopyOnWriteArrayList<>();
        ControlBus workerBus = worker.controlBus().orElseThrow();
        try (AutoCloseable mailbox = workerBus.subscribe("w4@host", m -> workerBus.reply(m, "w4@host",
                Map.of("ok", "pong")));
             AutoCloseable receiver = client.eventBus().orElseThrow().subscribe(events::add)) {
            raw.abort();
            RABBIT.restart(true);

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                    assertThat(client.controlBus().orElseThrow().broadcastAndCollect(ControlMessage.of("ping",
                            Map.of()), Duration.ofMillis(500))).hasSize(1));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
                try {
                    worker.eventBus().orElseThrow().publish("worker.heartbeat", "w4@host",
                            Map.of("type", "worker-heartbeat"));
                } catch (RuntimeException e) {
                    return false;
                }
                return !events.isEmpty();
            });
        } finally {
            raw = observer();
        }
    }
}
