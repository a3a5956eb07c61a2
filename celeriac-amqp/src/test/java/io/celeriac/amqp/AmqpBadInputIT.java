package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.impl.LongStringHelper;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What another producer may put on a queue: bytes that are not UTF-8, header strings that are not UTF-8. The broker
 * dead-letters them with the reason and the exact bytes, never hands them out, and goes on with the next message;
 * and a message typed as py-amqp types Celery's headers reads back as the JSON it was.
 */
class AmqpBadInputIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private final MessageCodec codec = new MessageCodec();

    @Test
    void unreadableMessagesAreDeadLetteredAndNeverHandedOut() throws Exception {
        String queue = "bad.input";
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(RABBIT.url()).build();
        try (AmqpBroker broker = new AmqpBroker(RABBIT.url(), config)) {
            broker.declare(List.of(queue));
            byte[] notUtf8 = {'[', '[', ']', ',', '{', '}', ',', '{', '}', ']', (byte) 0xC3, (byte) 0x28};
            try (Connection c = factory().newConnection("other-producer")) {
                Channel ch = c.createChannel();
                ch.basicPublish("", queue, new AMQP.BasicProperties.Builder().contentType("application/json")
                        .contentEncoding("utf-8").headers(Map.of("task", "t.x", "id", "b1")).build(), notUtf8);
                ch.basicPublish("", queue, new AMQP.BasicProperties.Builder().contentType("application/json")
                        .contentEncoding("utf-8").headers(Map.of("task", LongStringHelper.asLongString(
                                new byte[] {'t', (byte) 0xFF}), "id", "b2")).build(),
                        "[[],{},{}]".getBytes(StandardCharsets.UTF_8));
                ch.close();
            }
            TaskMessage good = TaskMessage.builder("t.ok", "g1").args(List.of("ü", 1)).kwargs(Map.of()).build();
            broker.publish(new OutboundMessage(queue, 0, codec.encode(good), "g1", null));

            List<Delivery> got = broker.reserve(List.of(queue), 10, Duration.ofSeconds(10));
            assertThat(got).hasSize(1);
            assertThat(codec.decode(got.get(0).message()).id()).isEqualTo("g1");
            broker.ack(got);

            List<DeadLetter> dead = broker.deadLetterQueue().orElseThrow().list(10);
            assertThat(dead).hasSize(2).allSatisfy(d -> {
                assertThat(d.queue()).isEqualTo(queue);
                assertThat(d.message()).as("unreadable: no message, only the raw bytes").isNull();
            });
            assertThat(dead).anySatisfy(d -> assertThat(d.reason()).contains("not valid UTF-8")
                    .contains("body"));
            assertThat(dead).anySatisfy(d -> assertThat(d.reason()).contains("header 'task'"));
            assertThat(broker.queueLength(queue)).isZero();
            assertThat(broker.unsettledCount()).isZero();
        }
    }

    @Test
    void headersTypedAsPyAmqpTypesThemReadBackAsJson() throws Exception {
        String queue = "typed.headers";
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(RABBIT.url()).build();
        try (AmqpBroker broker = new AmqpBroker(RABBIT.url(), config)) {
            broker.declare(List.of(queue));
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("lang", LongStringHelper.asLongString("py"));
            h.put("task", LongStringHelper.asLongString("proj.add"));
            h.put("id", LongStringHelper.asLongString("py-1"));
            h.put("shadow", null);
            h.put("retries", 0);
            h.put("big", 4_000_000_000L);
            h.put("timelimit", java.util.Arrays.asList(null, 2.5));
            h.put("ignore_result", false);
            h.put("nested", Map.of("k", List.of(1, LongStringHelper.asLongString("v"))));
            try (Connection c = factory().newConnection("python-like-producer")) {
                Channel ch = c.createChannel();
                ch.basicPublish("", queue, new AMQP.BasicProperties.Builder().contentType("application/json")
                        .contentEncoding("utf-8").headers(h).correlationId("py-1").replyTo("").deliveryMode(2)
                        .priority(0).build(), "[[2, 3], {}, {}]".getBytes(StandardCharsets.UTF_8));
                ch.close();
            }
            List<Delivery> got = broker.reserve(List.of(queue), 1, Duration.ofSeconds(10));
            BrokerMessage m = got.get(0).message();
            assertThat(m.headers()).containsEntry("task", "proj.add").containsEntry("shadow", null)
                    .containsEntry("retries", 0).containsEntry("big", 4_000_000_000L)
                    .containsEntry("timelimit", java.util.Arrays.asList(null, 2.5))
                    .containsEntry("ignore_result", false)
                    .containsEntry("nested", Map.of("k", List.of(1, "v")));
            assertThat(m.properties()).containsEntry("correlation_id", "py-1").containsEntry("reply_to", "")
                    .containsEntry("delivery_mode", 2).containsEntry("priority", 0);
            assertThat(codec.decode(m).args()).isEqualTo(List.of(2, 3));
            broker.ack(got);
        }
    }

    private static ConnectionFactory factory() {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(RABBIT.port());
        return f;
    }
}
