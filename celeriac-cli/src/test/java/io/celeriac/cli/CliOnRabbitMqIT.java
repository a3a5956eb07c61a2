package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.task.SendOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real {@code celeriac} jar as a subprocess against a RabbitMQ node the test starts; no Redis. */
class CliOnRabbitMqIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private Celeriac app;
    private Process worker;
    private String b;

    @BeforeEach
    void setUp() {
        b = RABBIT.url();
        // rpc://: RabbitMQ stores no results, and the commands here read none.
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(b).resultBackend("rpc://").build())
                .build();
    }

    @AfterEach
    void tearDown() {
        if (worker != null) {
            worker.destroyForcibly();
        }
        app.close();
    }

    private CeleriacJar.Result queues(String... queues) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("queues"));
        args.addAll(List.of(queues));
        args.addAll(List.of("-b", b, "--result-backend", "rpc://"));
        CeleriacJar.Result r = CeleriacJar.run(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.out()).isZero();
        return r;
    }

    @Test
    void queuesShowsWaitingMessagesAndRabbitMqsConsumerCountAsWorkersComeAndGo() throws Exception {
        for (int i = 0; i < 3; i++) {
            app.applyAsync("demo.add", List.of(i, 1), Map.of(), SendOptions.builder().queue("parked").build());
        }
        assertThat(queues("render", "parked").out()).containsPattern("QUEUE\\s+WAITING\\s+CONSUMERS")
                .containsPattern("render\\s+0\\s+0").containsPattern("parked\\s+3\\s+0");

        worker = CeleriacJar.start("amqp-worker", "worker", "-A", "io.celeriac.examples", "-Q", "render", "-c", "2",
                "-n", "amqp@%h", "-b", b, "--result-backend", "rpc://");
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("amqp-worker").contains("ready:"));
        // The worker subscribes right after it says it is ready.
        await().atMost(Duration.ofSeconds(10)).until(() -> queues("render", "parked").out()
                .matches("(?s).*render\\s+0\\s+1\\R.*"));
        assertThat(queues("render", "parked").out()).containsPattern("parked\\s+3\\s+0");

        CeleriacJar.signal(worker, "TERM");
        assertThat(worker.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // RabbitMQ forgets the consumer as it closes the worker's connection, not necessarily before the exit.
        await().atMost(Duration.ofSeconds(10)).until(() -> queues("render").out()
                .matches("(?s).*render\\s+0\\s+0\\R.*"));
    }
}
