package io.celeriac.cli;

import io.celeriac.CeleriacConfig;
import io.celeriac.amqp.AmqpBroker;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.Delivery;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code celeriac beat -b amqp://...} (the real jar) on a private RabbitMQ node, with its entries and dispatch ledger
 * in an H2 database given with {@code --store}: each tick reaches RabbitMQ once. Without {@code --store} it refuses in
 * one line that says what to give.
 */
class BeatOnAmqpCliIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void beatOnRabbitMqWithItsEntriesInADatabaseSendsEachTickOnce() throws Exception {
        String b = RABBIT.url();
        CeleriacJar.Result refused = CeleriacJar.run("beat", "-b", b);
        assertThat(refused.exitCode()).isEqualTo(CeleriacCommand.UNSUPPORTED);
        assertThat(refused.out()).contains("with a RabbitMQ broker").contains("--store jdbc:")
                .doesNotContain("\tat ");

        Path dir = Files.createTempDirectory(Path.of("target"), "beat-amqp").toAbsolutePath();
        // AUTO_SERVER: `celeriac schedule` reaches the database while the beat process holds it.
        String store = "jdbc:h2:file:" + dir.resolve("beat") + ";AUTO_SERVER=TRUE";
        assertThat(CeleriacJar.run("schedule", "add", "tick", "--task", "demo.add", "--every", "1s", "--args",
                "[1, 2]", "-b", b, "--store", store).out()).contains("Added tick");

        MessageCodec codec = new MessageCodec();
        Map<String, Integer> deliveries = new ConcurrentHashMap<>();
        try (AmqpBroker consumer = new AmqpBroker(b, CeleriacConfig.builder().brokerUrl(b).build())) {
            consumer.declare(List.of("celery"));
            consumer.purge("celery");
            Process beat = CeleriacJar.start("beat-amqp", "beat", "-b", b, "--store", store, "--lease", "3");
            processes.add(beat);
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                List<Delivery> got = consumer.reserve(List.of("celery"), 50, Duration.ofMillis(300));
                for (Delivery d : got) {
                    TaskMessage m = codec.decode(d.message());
                    assertThat(m.task()).isEqualTo("demo.add");
                    assertThat(m.args()).containsExactly(1, 2);
                    deliveries.merge(m.id(), 1, Integer::sum);
                }
                consumer.ack(got);
                return deliveries.size() >= 4;
            });
            assertThat(CeleriacJar.log("beat-amqp")).contains("Sending due task tick (demo.add)");
            assertThat(CeleriacJar.run("schedule", "list", "-b", b, "--store", store).out()).contains("tick")
                    .contains("every 1s");
        }
        assertThat(deliveries.values()).as("deliveries per tick").allMatch(n -> n == 1);
    }
}
