package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.redis.RedisScheduleStore;
import io.celeriac.testing.RedisServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The example end to end: HTTP in, PostgreSQL and Redis (both started by the test), e-mail and PDF out. */
@SpringBootTest(classes = OrdersApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"celeriac.worker.enabled=true", "celeriac.worker.queues=email,render,celery",
                "celeriac.worker.hostname=orders@test", "orders.mail.failure-rate=0.5"})
class OrdersIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry registry) {
        registry.add("celeriac.broker-url", () -> REDIS.url(0));
        registry.add("celeriac.result-backend", () -> REDIS.url(1));
        registry.add("spring.datasource.url", POSTGRES::jdbcUrl);
        registry.add("spring.datasource.username", () -> "postgres");
    }

    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    Celeriac celeriac;
    @Autowired
    Environment env;

    private HttpResponse<String> post(String json) throws Exception {
        String port = env.getProperty("local.server.port");
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/orders")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anOrderGoesThroughEmailAndPdfAndADoubleSubmitSendsOneEmail() throws Exception {
        String order = "{\"orderNumber\": \"A-1001\", \"email\": \"ada@example.com\", \"totalCents\": 4200}";
        HttpResponse<String> first = post(order);
        HttpResponse<String> second = post(order); // the customer clicked twice
        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(second.statusCode()).isEqualTo(202);
        assertThat(first.body()).contains("order-A-1001-send_invoice_email").contains("order-A-1001-render_pdf");

        // The mail server refuses half the attempts: the task retries with backoff until it gets through.
        Object email = celeriac.result("order-A-1001-send_invoice_email").get(Duration.ofSeconds(90));
        assertThat((String) email).contains("sent to ada@example.com");
        Object pdf = celeriac.result("order-A-1001-render_pdf").get(Duration.ofSeconds(30));
        assertThat(pdf.toString()).contains("invoice-A-1001.pdf");

        long orderId = jdbc.queryForObject("SELECT id FROM orders WHERE order_number = 'A-1001'", Long.class);
        await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(jdbc.queryForObject("SELECT count(*) FROM sent_email WHERE order_id = ?", Long.class,
                        orderId)).isEqualTo(1));
        String file = jdbc.queryForObject("SELECT file FROM invoice_pdf WHERE order_id = ?", String.class, orderId);
        assertThat(Files.readString(Path.of(file))).startsWith("%PDF-1.4").contains("Invoice A-1001");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM orders", Long.class)).isEqualTo(1);
        System.out.println("Spring Boot " + SpringBootVersion.getVersion() + ": order A-1001 " + email + "; " + pdf);
    }

    @Test
    void theNightlyCleanupIsAStoredCrontabEntryThatRuns() throws Exception {
        try (RedisScheduleStore store = new RedisScheduleStore(REDIS.url(0), celeriac.config())) {
            assertThat(store.entry("cleanup-expired-carts")).get()
                    .satisfies(e -> assertThat(e.schedule().spec()).isEqualTo("crontab 0 3 * * * Europe/Paris"));
            jdbc.update("INSERT INTO carts (expires_at) VALUES (now() - interval '1 day'), (now() + interval '1 day')");
            String id = new io.celeriac.beat.Beat(celeriac, store).runNow("cleanup-expired-carts");
            assertThat(celeriac.result(id).get(Duration.ofSeconds(20))).isEqualTo(1);
            assertThat(jdbc.queryForObject("SELECT count(*) FROM carts", Long.class)).isEqualTo(1);
        }
    }
}
