package io.celeriac.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.task.SendOptions;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.celeriac.dashboard.DashboardFixture.basic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A shop without Redis: the dashboard on RabbitMQ (or the in-memory broker) with its history in PostgreSQL. No
 * redis-server runs in this class. Tasks, queue lengths, purge and dead letters show, and the history survives a
 * restart of the dashboard. On a broker without events or remote control (RabbitMQ, until it carries them) the
 * dashboard says so and answers {@code 501} to control actions instead of failing.
 */
class DashboardWithoutRedisIT {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();

    private static final String AUTH = basic("ops", "ops-secret");
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private String historyUrl;

    @BeforeEach
    void emptyDatabase() {
        POSTGRES.freshDataSource();
        historyUrl = POSTGRES.jdbcUrl() + "?user=postgres";
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T c) {
        toClose.add(c);
        return c;
    }

    private Dashboard dashboard(Celeriac app, String... queues) {
        return Dashboard.builder(app).port(0).historyUrl(historyUrl).queues(queues)
                .user("ops", "ops-secret", Role.ADMIN).build().start();
    }

    private HttpResponse<String> get(Dashboard d, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path))
                .header("Authorization", AUTH).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode getJson(Dashboard d, String path) throws Exception {
        HttpResponse<String> r = get(d, path);
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    private HttpResponse<String> post(Dashboard d, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path))
                .header("Authorization", AUTH).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static long waiting(JsonNode queues, String queue) {
        for (JsonNode q : queues.get("queues")) {
            if (q.get("name").asText().equals(queue)) {
                return q.get("waiting").asLong();
            }
        }
        return -1;
    }

    /** The queue's row in {@code /api/queues}; fails if the dashboard does not list it. */
    private static JsonNode queue(JsonNode queues, String queue) {
        for (JsonNode q : queues.get("queues")) {
            if (q.get("name").asText().equals(queue)) {
                return q;
            }
        }
        throw new AssertionError("no queue " + queue + " in " + queues);
    }

    private static List<String> taskIds(JsonNode tasks) {
        List<String> ids = new ArrayList<>();
        tasks.get("items").forEach(t -> ids.add(t.get("id").asText()));
        return ids;
    }

    @Test
    void onTheInMemoryBrokerTasksQueuesAndHistoryShowAndTheHistorySurvivesARestart() throws Exception {
        DemoTasks tasks = new DemoTasks();
        Celeriac app = closing(Celeriac.builder().config(CeleriacConfig.builder().brokerUrl("memory://")
                .resultBackend("memory://").build()).register(tasks).build());
        tasks.app = app;
        Worker worker = app.worker().hostname("java@mem").sendEvents(true).start();
        closing(() -> worker.shutdown(Duration.ofSeconds(5)));

        Dashboard first = dashboard(app, "backlog");
        assertThat(first.notices()).isEmpty();
        String ok = app.applyAsync("dash.add", List.of(2, 3), java.util.Map.of(), SendOptions.builder().build()).id();
        String failed = app.applyAsync("dash.flaky", List.of("k1"), java.util.Map.of(), SendOptions.builder().build())
                .id();
        for (int i = 0; i < 4; i++) {
            app.applyAsync("dash.echo", List.of("later " + i), java.util.Map.of(),
                    SendOptions.builder().queue("backlog").build());
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode page = getJson(first, "/api/tasks");
            assertThat(taskIds(page)).contains(ok, failed);
            assertThat(getJson(first, "/api/tasks/" + ok).get("state").asText()).isEqualTo("SUCCESS");
            assertThat(getJson(first, "/api/tasks/" + failed).get("state").asText()).isEqualTo("FAILURE");
        });
        assertThat(waiting(getJson(first, "/api/queues"), "backlog")).isEqualTo(4);
        // The in-memory broker keeps no count of consumers: unknown (null), not 0.
        JsonNode backlog = queue(getJson(first, "/api/queues"), "backlog");
        assertThat(backlog.has("consumerCount")).isTrue();
        assertThat(backlog.get("consumerCount").isNull()).isTrue();
        // Workers answer the control bus's stats poll (every 5 s) and send heartbeats.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                assertThat(getJson(first, "/api/workers").toString()).contains("java@mem"));
        first.close();

        // A new dashboard (a restart) on the same database: the history is back before any new event arrives.
        Dashboard second = closing(dashboard(app, "backlog"));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode page = getJson(second, "/api/tasks");
            assertThat(taskIds(page)).contains(ok, failed);
        });
        JsonNode task = getJson(second, "/api/tasks/" + failed);
        assertThat(task.get("state").asText()).isEqualTo("FAILURE");
        assertThat(task.toString()).contains("upstream unavailable for k1");
        assertThat(waiting(getJson(second, "/api/queues"), "backlog")).isEqualTo(4);
    }

    @Test
    void onRabbitMqWithPostgresQueuesPurgeDeadLettersAndHistoryWorkAndMissingPartsAreSaid() throws Exception {
        DemoTasks tasks = new DemoTasks();
        Celeriac app = closing(Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(RABBIT.url())
                .resultBackend(historyUrl).build()).register(tasks).build());
        tasks.app = app;
        Worker worker = app.worker().hostname("java@rabbit").queues("celery").sendEvents(true).start();
        closing(() -> worker.shutdown(Duration.ofSeconds(5)));
        boolean events = app.broker().eventBus().isPresent();
        boolean control = app.broker().controlBus().isPresent();

        Dashboard first = dashboard(app, "backlog");
        await().atMost(Duration.ofSeconds(10)).until(first::connected);
        JsonNode me = getJson(first, "/api/me");
        assertThat(me.get("notices").toString().contains("carries no Celery events")).isEqualTo(!events);
        assertThat(me.get("notices").toString().contains("carries no remote control")).isEqualTo(!control);
        if (!events || !control) {
            assertThat(get(first, "/tasks").body()).contains("class=\"notice\"");
        }

        // Queue lengths and purge through the Broker SPI, on RabbitMQ.
        for (int i = 0; i < 3; i++) {
            app.applyAsync("dash.echo", List.of("later " + i), java.util.Map.of(),
                    SendOptions.builder().queue("backlog").build());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> waiting(getJson(first, "/api/queues"), "backlog") == 3);
        HttpResponse<String> purged = post(first, "/api/queues/backlog/purge", "{}");
        assertThat(purged.statusCode()).as(purged.body()).isEqualTo(200);
        assertThat(purged.body()).contains("3");
        assertThat(waiting(getJson(first, "/api/queues"), "backlog")).isZero();
        assertThat(getJson(first, "/api/queues").get("deadLetters").asLong()).isZero();

        // Consumer counts are RabbitMQ's: the worker's standing subscription on celery (the queue is listed once the
        // worker poll names it), none on backlog. WorkerOnAmqpIT follows the count as workers start and stop.
        assertThat(queue(getJson(first, "/api/queues"), "backlog").get("consumerCount").asInt(-1)).isZero();
        await().atMost(Duration.ofSeconds(20)).until(() -> getJson(first, "/api/queues").toString()
                .contains("\"name\":\"celery\"") && queue(getJson(first, "/api/queues"), "celery")
                .get("consumerCount").asInt(-1) == 1);
        assertThat(get(first, "/api/dead-letters").statusCode()).isEqualTo(200);

        // A task runs on RabbitMQ with its result in PostgreSQL; it reaches the history from its events if the
        // broker carries them, else it is put there as a retry from the dashboard would.
        String id = app.applyAsync("dash.add", List.of(20, 22), java.util.Map.of(), SendOptions.builder().build())
                .id();
        assertThat(app.result(id).get(Duration.ofSeconds(20))).isEqualTo(42);
        if (events) {
            await().atMost(Duration.ofSeconds(20)).until(() -> first.history().get(id)
                    .map(r -> r.state().equals("SUCCESS")).orElse(false));
        } else {
            double now = System.currentTimeMillis() / 1000.0;
            first.history().put(TaskRecord.empty(id, now).apply(TaskHistoryTest.event("task-succeeded", id, now,
                    "name", "dash.add", "result", "42", "runtime", 0.01)));
        }

        // Control actions: through the control bus when there is one, else a clear 501.
        HttpResponse<String> revoke = post(first, "/api/tasks/" + id + "/revoke", "{\"terminate\": false}");
        if (control) {
            assertThat(revoke.statusCode()).as(revoke.body()).isEqualTo(200);
        } else {
            assertThat(revoke.statusCode()).as(revoke.body()).isEqualTo(501);
            assertThat(revoke.body()).contains("remote control");
        }
        first.close();

        Dashboard second = closing(dashboard(app, "backlog"));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(taskIds(getJson(second, "/api/tasks"))).contains(id));
        assertThat(getJson(second, "/api/tasks/" + id).get("result").asText()).isEqualTo("42");
    }
}
