package io.celeriac.spring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.celeriac.Celeriac;
import io.celeriac.amqp.AmqpBroker;
import io.celeriac.testing.RabbitMqServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The starter with {@code celeriac.broker-url=amqp://...}: a private RabbitMQ node the test starts, results over
 * {@code rpc://} (back to this application as messages), and no Redis anywhere. The worker the context starts
 * consumes from RabbitMQ, the health indicator asks RabbitMQ, and the dashboard shows RabbitMQ's consumer count.
 */
@SpringBootTest(classes = StarterApp.class, properties = {
        "celeriac.result-backend=rpc://",
        "celeriac.worker.enabled=true",
        "celeriac.worker.queues=spring",
        "celeriac.worker.hostname=spring-amqp@test",
        "celeriac.task-acks-late=true",
        "celeriac.dashboard.enabled=true",
        "celeriac.dashboard.port=0",
        "celeriac.dashboard.admin-users=ops:pw"})
@DirtiesContext
class CeleriacStarterOnRabbitMqIT {
    /**
     * Started by hand and stopped when the JVM exits, not as a JUnit extension: an extension's afterAll would stop
     * RabbitMQ before Spring's closes the context (extensions registered later run their afterAll first), and the
     * worker would then stop against a dead node. {@code @DirtiesContext} closes the context after this class.
     */
    private static final RabbitMqServer RABBIT = new RabbitMqServer();

    @BeforeAll
    static void startRabbitMq() throws Exception {
        RABBIT.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                RABBIT.close();
            } catch (Exception ignored) {
                // the JVM is exiting
            }
        }, "rabbitmq-test-node-stop"));
    }

    @DynamicPropertySource
    static void rabbitMq(DynamicPropertyRegistry registry) {
        registry.add("celeriac.broker-url", RABBIT::url);
    }

    @Autowired
    Celeriac celeriac;

    @Autowired
    ApplicationContext context;

    /** RabbitMQ's own count of consumers of {@code queue}, asked on a connection of the test's own. */
    private static int consumersSeenByRabbitMq(String queue) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(RABBIT.port());
        try (Connection c = f.newConnection("starter-it-observer")) {
            return c.createChannel().queueDeclarePassive(queue).getConsumerCount();
        }
    }

    @Test
    void aTaskSentThroughRabbitMqRunsOnTheContextsWorkerAndItsResultComesBackOverRpc() throws Exception {
        assertThat(celeriac.config().brokerUrl()).isEqualTo(RABBIT.url());
        assertThat(celeriac.broker()).isInstanceOf(AmqpBroker.class);

        String result = (String) celeriac.task("spring.greet").delay("ada").get(Duration.ofSeconds(30));
        assertThat(result).isEqualTo("hello ada from spring-amqp@test");
        // The worker consumes the task's queue on RabbitMQ: the node itself counts its subscription, and nothing is
        // left waiting there.
        assertThat(consumersSeenByRabbitMq("spring")).isEqualTo(1);
        assertThat(celeriac.broker().queueLength("spring")).isZero();
    }

    @Test
    void healthAsksRabbitMq() throws Exception {
        Object indicator = context.getBean("celeriacHealthIndicator");
        Object health = indicator.getClass().getMethod("health").invoke(indicator);
        assertThat(health.toString()).contains("UP").contains("worker=running").contains("queue.celery")
                .contains("amqp://***@127.0.0.1:" + RABBIT.port());
    }

    @Test
    void theDashboardInsideTheApplicationShowsRabbitMqsConsumerCount() throws Exception {
        int port = ((CeleriacAutoConfiguration.DashboardLifecycle) context.getBean("celeriacDashboard")).port();
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest queues = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/queues"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        "ops:pw".getBytes(StandardCharsets.UTF_8))).build();
        ObjectMapper json = new ObjectMapper();
        // The queue is listed once the dashboard's worker poll (over RabbitMQ's pidbox) names it.
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            JsonNode body = json.readTree(http.send(queues, HttpResponse.BodyHandlers.ofString()).body());
            for (JsonNode q : body.get("queues")) {
                if (q.get("name").asText().equals("spring")) {
                    return q.get("consumerCount").asInt(-1) == 1
                            && q.get("consumers").toString().contains("spring-amqp@test");
                }
            }
            return false;
        });
    }

    @Test
    void beatOnRabbitMqAsksForAStoreInsteadOfTakingTheBrokerForRedis() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(CeleriacAutoConfiguration.class))
                .withPropertyValues("celeriac.broker-url=" + RABBIT.url(), "celeriac.result-backend=rpc://",
                        "celeriac.beat.enabled=true")
                .run(context -> assertThat(context).hasFailed().getFailure().rootCause()
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("celeriac.beat.store is unset and the broker is amqp://***@")
                        .hasMessageContaining("set celeriac.beat.store to a jdbc: URL"));
    }
}
