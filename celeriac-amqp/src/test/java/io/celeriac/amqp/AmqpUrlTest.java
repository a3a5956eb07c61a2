package io.celeriac.amqp;

import io.celeriac.CeleriacException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AmqpUrlTest {
    @Test
    void kombusDefaultsFillWhatTheUrlLeavesOut() {
        AmqpUrl u = AmqpUrl.parse("amqp://localhost");
        assertThat(u.host()).isEqualTo("localhost");
        assertThat(u.port()).isEqualTo(5672);
        assertThat(u.virtualHost()).isEqualTo("/");
        assertThat(u.username()).isEqualTo("guest");
        assertThat(u.password()).isEqualTo("guest");
        assertThat(u.tls()).isFalse();
        assertThat(u.maxPriority()).isNull();
        assertThat(u.heartbeat()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void userPasswordVhostAndTls() {
        AmqpUrl u = AmqpUrl.parse("amqps://worker:s%40cret@rabbit.example:5999/prod%2Feu");
        assertThat(u.tls()).isTrue();
        assertThat(u.port()).isEqualTo(5999);
        assertThat(u.username()).isEqualTo("worker");
        assertThat(u.password()).isEqualTo("s@cret");
        assertThat(u.virtualHost()).isEqualTo("prod/eu");
        assertThat(u.toString()).doesNotContain("s@cret").contains("***");
        assertThat(AmqpUrl.parse("amqps://rabbit/").port()).isEqualTo(5671);
    }

    @Test
    void theDefaultVhostIsWrittenAsEmptyOrEscapedSlash() {
        assertThat(AmqpUrl.parse("amqp://guest:guest@h:5672//").virtualHost()).isEqualTo("/");
        assertThat(AmqpUrl.parse("amqp://guest:guest@h:5672/%2F").virtualHost()).isEqualTo("/");
        assertThat(AmqpUrl.parse("amqp://guest:guest@h:5672/").virtualHost()).isEqualTo("/");
        assertThat(AmqpUrl.parse("amqp://guest:guest@h:5672/celery").virtualHost()).isEqualTo("celery");
    }

    @Test
    void optionsFromTheQueryString() {
        AmqpUrl u = AmqpUrl.parse("amqp://h/?task_queue_max_priority=10&heartbeat=30&connect_timeout=2.5");
        assertThat(u.maxPriority()).isEqualTo(10);
        assertThat(u.heartbeat()).isEqualTo(Duration.ofSeconds(30));
        assertThat(u.connectTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h/?prefetch=4")).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("unknown option 'prefetch'");
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h/?task_queue_max_priority=0"))
                .hasMessageContaining("1-255");
    }

    @Test
    void quorumQueuesAndTheirDeliveryLimit() {
        AmqpUrl u = AmqpUrl.parse("amqp://h/?task_default_queue_type=quorum&delivery_limit=5");
        assertThat(u.quorum()).isTrue();
        assertThat(u.deliveryLimit()).isEqualTo(5);
        assertThat(AmqpUrl.parse("amqp://h/?queue_type=classic").quorum()).isFalse();
        assertThat(new Topology(null, true, 5, "celeriac.dead_letter").queueArguments()).containsExactlyInAnyOrderEntriesOf(
                Map.of("x-queue-type", "quorum", "x-delivery-limit", 5, "x-dead-letter-exchange", "",
                        "x-dead-letter-routing-key", "celeriac.dead_letter"));
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h/?task_default_queue_type=quorum&task_queue_max_priority=10"))
                .hasMessageContaining("cannot be used with quorum queues");
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h/?delivery_limit=5"))
                .hasMessageContaining("needs task_default_queue_type=quorum");
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h/?queue_type=stream")).hasMessageContaining("bad value");
    }

    @Test
    void aFailoverListAsKombuWritesIt() {
        AmqpUrl u = AmqpUrl.parse("amqp://u:p@h1:5701/v?task_default_queue_type=quorum;amqp://u:p@h2:5702/v;"
                + "amqp://u:p@h3/v");
        assertThat(u.hosts()).containsExactly(new AmqpUrl.Host("h1", 5701), new AmqpUrl.Host("h2", 5702),
                new AmqpUrl.Host("h3", 5672));
        assertThat(u.host()).isEqualTo("h1");
        assertThat(u.quorum()).isTrue();
        assertThat(u.virtualHost()).isEqualTo("v");
        assertThat(u.toString()).isEqualTo("amqp://u:***@h1:5701/v;amqp://u:***@h2:5702/v;amqp://u:***@h3:5672/v");
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://u:p@h1/v;amqp://x:p@h2/v"))
                .hasMessageContaining("same user, password, vhost");
        assertThatThrownBy(() -> AmqpUrl.parse("amqp://h1/?heartbeat=5;amqp://h2/?heartbeat=9"))
                .hasMessageContaining("read from its first URL");
    }

    @Test
    void theProviderTakesAmqpSchemesAndRefusesToStoreResults() {
        AmqpProvider p = new AmqpProvider();
        assertThat(p.supports("amqp://h")).isTrue();
        assertThat(p.supports("amqps://h")).isTrue();
        assertThat(p.supports("pyamqp://h")).isTrue();
        assertThat(p.supports("redis://h")).isFalse();
        assertThatThrownBy(() -> p.createResultBackend("amqp://u:secret@h//", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("redis://")
                .hasMessageNotContaining("secret");
    }

    @Test
    void delayRoutingKeysCarryTheSecondsInBinaryThenTheQueue() {
        assertThat(DelayedDelivery.routingKey(Duration.ofMillis(500), "celery"))
                .isEqualTo("0.".repeat(27) + "1.celery");
        assertThat(DelayedDelivery.routingKey(Duration.ofSeconds(5), "q.a"))
                .isEqualTo("0.".repeat(25) + "1.0.1.q.a");
        assertThat(DelayedDelivery.routingKey(Duration.ofSeconds(-3), "celery"))
                .isEqualTo("0.".repeat(28) + "celery");
        assertThat(DelayedDelivery.targetBinding("celery")).isEqualTo("*.".repeat(28) + "celery");
    }
}
