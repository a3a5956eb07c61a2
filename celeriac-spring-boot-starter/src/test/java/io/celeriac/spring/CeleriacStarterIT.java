package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisServerExtension;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The starter in a real Spring Boot application against a redis-server the test starts. */
@SpringBootTest(classes = StarterApp.class, properties = {
        "celeriac.worker.enabled=true",
        "celeriac.worker.queues=spring,celery",
        "celeriac.worker.hostname=spring@test",
        "celeriac.task-acks-late=true",
        "celeriac.worker-prefetch-multiplier=1",
        "celeriac.task-routes.[reports.*]=reports",
        "celeriac.dashboard.enabled=true",
        "celeriac.dashboard.port=0",
        "celeriac.dashboard.admin-users=ops:pw",
        "celeriac.dashboard.readonly-users=viewer:look"})
class CeleriacStarterIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @DynamicPropertySource
    static void redis(DynamicPropertyRegistry registry) {
        registry.add("celeriac.broker-url", () -> REDIS.url(0));
        registry.add("celeriac.result-backend", () -> REDIS.url(1));
    }

    @Autowired
    Celeriac celeriac;

    @Autowired
    ApplicationContext context;

    @Test
    void taskBeansRunWithTheirDependenciesOnTheWorkerTheContextStarted() {
        assertThat(celeriac.registry().names()).contains("spring.greet");
        String result = (String) celeriac.task("spring.greet").delay("ada").get(Duration.ofSeconds(20));
        assertThat(result).startsWith("hello ada from spring@");
        System.out.println("Spring Boot " + SpringBootVersion.getVersion() + ": " + result);
    }

    @Test
    void propertiesMapToCelerysSettings() {
        CeleriacConfig config = celeriac.config();
        assertThat(config.brokerUrl()).isEqualTo(REDIS.url(0));
        assertThat(config.resultBackend()).isEqualTo(REDIS.url(1));
        assertThat(config.acksLate()).isTrue();
        assertThat(config.prefetchMultiplier()).isEqualTo(1);
        assertThat(config.routeFor("reports.daily")).contains("reports");
    }

    @Test
    void healthReportsTheBrokerAndTheWorker() throws Exception {
        // Called reflectively: Boot 3 and 4 have different health classes, and this test runs on both.
        Object indicator = context.getBean("celeriacHealthIndicator");
        Object health = indicator.getClass().getMethod("health").invoke(indicator);
        assertThat(health.toString()).contains("UP").contains("worker=running").contains("queue.celery");
    }

    @Test
    void theDashboardRunsInsideTheApplicationAndSeesItsWorker() throws Exception {
        int port = ((CeleriacAutoConfiguration.DashboardLifecycle) context.getBean("celeriacDashboard")).port();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, java.net.http.HttpResponse<String>> workers = auth -> {
            try {
                return http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                                + "/api/workers")).header("Authorization", "Basic " + java.util.Base64.getEncoder()
                                .encodeToString(auth.getBytes(java.nio.charset.StandardCharsets.UTF_8))).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        assertThat(workers.apply("ops:wrong").statusCode()).isEqualTo(401);
        await().atMost(Duration.ofSeconds(20)).until(() -> workers.apply("viewer:look").body().contains("spring@test"));
        assertThat(workers.apply("ops:pw").statusCode()).isEqualTo(200);
    }

    @Test
    void workerMetricsReachTheMeterRegistry() {
        celeriac.task("spring.greet").delay("bob").get(Duration.ofSeconds(20));
        MeterRegistry registry = context.getBean(MeterRegistry.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> registry.find("celeriac.tasks")
                .tags("task", "spring.greet", "state", "succeeded").counter() != null);
    }
}
