package io.celeriac.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.control.ControlMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.celeriac.dashboard.DashboardFixture.ADMIN;
import static io.celeriac.dashboard.DashboardFixture.ADMIN_PASSWORD;
import static io.celeriac.dashboard.DashboardFixture.VIEWER;
import static io.celeriac.dashboard.DashboardFixture.VIEWER_PASSWORD;
import static io.celeriac.dashboard.DashboardFixture.basic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The JSON API, its security and its control actions, against a real Redis, worker and dashboard. */
class DashboardApiTest {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    static DashboardFixture f;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() {
        f = new DashboardFixture(REDIS);
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    JsonNode task(String id) throws Exception {
        return json(f.adminGet("/api/tasks/" + id));
    }

    /** Waits until the task is in the dashboard's history (not only in the result backend) in {@code state}. */
    JsonNode awaitState(String id, String state) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> {
            HttpResponse<String> r = f.adminGet("/api/tasks/" + id);
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        }, t -> t != null && !t.has("source") && t.get("state").asText().equals(state));
    }

    @Test
    void withoutCredentialsTheApiAnswers401AndPagesSendToTheLoginForm() throws Exception {
        for (String path : List.of("/api/tasks", "/api/workers", "/api/schedules", "/metrics", "/api/stream")) {
            HttpResponse<String> r = f.get(path, null);
            assertThat(r.statusCode()).as(path).isEqualTo(401);
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v)
                    .startsWith("Basic"));
        }
        assertThat(f.get("/api/tasks", basic(ADMIN, "wrong")).statusCode()).isEqualTo(401);
        assertThat(f.post("/api/queues/celery/purge", null, "application/json", "{}").statusCode()).isEqualTo(401);
        HttpResponse<String> page = f.get("/tasks", null);
        assertThat(page.statusCode()).isEqualTo(302);
        assertThat(page.headers().firstValue("Location")).hasValue("/login?next=%2Ftasks");
        assertThat(f.get("/login", null).body()).contains("name=\"password\"");
    }

    @Test
    void aReadOnlyUserSeesEverythingAndChangesNothing() throws Exception {
        String viewer = basic(VIEWER, VIEWER_PASSWORD);
        assertThat(f.get("/api/tasks", viewer).statusCode()).isEqualTo(200);
        assertThat(f.get("/api/workers", viewer).statusCode()).isEqualTo(200);
        assertThat(f.get("/metrics", viewer).statusCode()).isEqualTo(200);
        f.app.applyAsync("dash.add", List.of(1, 1), Map.of(), SendOptions.builder().queue("parked").build());
        for (String path : List.of("/api/queues/parked/purge", "/api/tasks/x/revoke", "/api/workers/java@dash/shutdown",
                "/api/workers/java@dash/pool", "/api/rate-limit", "/api/schedules", "/api/tasks/retry-all",
                "/api/dead-letters/requeue-all")) {
            HttpResponse<String> r = f.post(path, viewer, "application/json", "{}");
            assertThat(r.statusCode()).as(path).isEqualTo(403);
            assertThat(r.body()).contains("read-only");
        }
        assertThat(f.app.broker().queueLength("parked")).isEqualTo(1);
        assertThat(f.worker.awaitTermination(Duration.ofMillis(1))).isFalse();
    }

    @Test
    void changesNeedJsonFromTheSameOriginAndSessionsNeedTheirCsrfToken() throws Exception {
        f.app.applyAsync("dash.add", List.of(1, 2), Map.of(), SendOptions.builder().queue("csrf").build());
        String admin = basic(ADMIN, ADMIN_PASSWORD);
        // What a cross-site HTML form can send: a form content type.
        assertThat(f.post("/api/queues/csrf/purge", admin, "application/x-www-form-urlencoded", "a=b").statusCode())
                .isEqualTo(403);
        HttpResponse<String> crossSite = f.http.send(HttpRequest.newBuilder(URI.create(f.base()
                        + "/api/queues/csrf/purge")).header("Authorization", admin)
                .header("Content-Type", "application/json").header("Origin", "https://evil.example")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(crossSite.statusCode()).isEqualTo(403);
        assertThat(f.app.broker().queueLength("csrf")).isEqualTo(1);

        // Log in through the form, as a browser does.
        HttpResponse<String> login = f.post("/login", null, "application/x-www-form-urlencoded",
                "username=" + ADMIN + "&password=" + URLEncoder.encode(ADMIN_PASSWORD, StandardCharsets.UTF_8)
                        + "&next=%2Fqueues");
        assertThat(login.statusCode()).isEqualTo(302);
        assertThat(login.headers().firstValue("Location")).hasValue("/queues");
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookie).contains("HttpOnly").contains("SameSite=Strict");
        String session = cookie.substring(0, cookie.indexOf(';'));
        JsonNode me = JSON.readTree(f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/api/me"))
                .header("Cookie", session).build(), HttpResponse.BodyHandlers.ofString()).body());
        String csrf = me.get("csrf").asText();
        assertThat(csrf).hasSizeGreaterThan(20);

        HttpRequest.Builder purge = HttpRequest.newBuilder(URI.create(f.base() + "/api/queues/csrf/purge"))
                .header("Cookie", session).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}"));
        HttpResponse<String> noToken = f.http.send(purge.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).isEqualTo(403);
        assertThat(noToken.body()).contains("CSRF");
        HttpResponse<String> withToken = f.http.send(purge.header("X-CSRF-Token", csrf).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(json(withToken).get("purged").asLong()).isEqualTo(1);
        assertThat(f.app.broker().queueLength("csrf")).isZero();

        HttpResponse<String> bad = f.post("/login", null, "application/x-www-form-urlencoded",
                "username=" + ADMIN + "&password=nope&next=https://evil.example/");
        assertThat(bad.headers().firstValue("Location")).hasValue("/login?failed=1&next=%2Ftasks");

        // A placeholder in a path is shown as it is, not filled with the page's secrets.
        HttpResponse<String> odd = f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/tasks/%7B%7Bcsrf%7D%7D"))
                .header("Cookie", session).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(odd.body()).contains("Task {{csrf}}").containsOnlyOnce(csrf);

        // The live stream ends with the session.
        java.util.concurrent.CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> stream = f.http.sendAsync(
                HttpRequest.newBuilder(URI.create(f.base() + "/api/stream")).header("Cookie", session)
                        .header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofLines());
        HttpResponse<java.util.stream.Stream<String>> open = stream.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(open.statusCode()).isEqualTo(200);
        java.util.stream.Stream<String> lines = open.body();
        java.util.concurrent.CompletableFuture<Long> ended = java.util.concurrent.CompletableFuture.supplyAsync(
                lines::count);
        org.awaitility.Awaitility.await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                .until(() -> !ended.isDone());
        HttpResponse<String> logout = f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/logout"))
                .header("Cookie", session).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(logout.statusCode()).isEqualTo(302);
        assertThat(ended.get(10, java.util.concurrent.TimeUnit.SECONDS)).isPositive();
        assertThat(f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/api/me")).header("Cookie", session)
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    }

    @Test
    void loginOnlyRedirectsHomeAndSlowsDownGuessing() throws Exception {
        assertThat(LoginRoutes.safeNext("/tasks?state=FAILURE")).isEqualTo("/tasks?state=FAILURE");
        for (String evil : List.of("//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                "https://evil.example", "/ /evil.example", "javascript:alert(1)", "")) {
            assertThat(LoginRoutes.safeNext(evil)).as(evil).isEqualTo("/tasks");
        }
        HttpResponse<String> crossSite = f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/login"))
                .header("Content-Type", "application/x-www-form-urlencoded").header("Origin", "https://evil.example")
                .POST(HttpRequest.BodyPublishers.ofString("username=" + ADMIN + "&password=" + ADMIN_PASSWORD))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(crossSite.statusCode()).isEqualTo(403);

        // A dashboard of its own, so that the lock-out does not lock the other tests out.
        try (Dashboard d = Dashboard.builder(f.app).port(0).user("u", "right", Role.ADMIN).build().start()) {
            java.util.function.Function<String, Integer> login = pw -> {
                try {
                    return f.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + "/login"))
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .POST(HttpRequest.BodyPublishers.ofString("username=u&password=" + pw)).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            for (int i = 0; i < 10; i++) {
                assertThat(login.apply("wrong")).isEqualTo(302);
            }
            assertThat(login.apply("wrong")).isEqualTo(429);
            assertThat(login.apply("right")).isEqualTo(429);
        }
    }

    @Test
    void aTaskShowsWithItsEventsResultAndTimings() throws Exception {
        AsyncResult r = f.app.delay("dash.add", 2, 3);
        assertThat(r.get(Duration.ofSeconds(10))).isEqualTo(5);
        JsonNode t = awaitState(r.id(), "SUCCESS");
        assertThat(t.get("name").asText()).isEqualTo("dash.add");
        assertThat(t.get("args").asText()).isEqualTo("(2, 3)");
        assertThat(t.get("result").asText()).isEqualTo("5");
        assertThat(t.get("worker").asText()).isEqualTo("java@dash");
        assertThat(t.get("queue").asText()).isEqualTo("celery");
        assertThat(t.get("runtime").asDouble()).isPositive();
        assertThat(t.get("events").findValuesAsText("type")).contains("task-received", "task-started",
                "task-succeeded");

        JsonNode page = json(f.adminGet("/api/tasks?search=" + r.id().substring(0, 8)));
        assertThat(page.get("total").asInt()).isEqualTo(1);
        assertThat(page.get("items").get(0).get("id").asText()).isEqualTo(r.id());
        JsonNode byState = json(f.adminGet("/api/tasks?state=SUCCESS&name=dash.add"));
        assertThat(byState.get("items").findValuesAsText("id")).contains(r.id());
        assertThat(json(f.adminGet("/api/tasks?state=FAILURE&name=dash.add")).get("total").asInt()).isZero();
        assertThat(f.adminGet("/api/tasks/no-such-id").statusCode()).isEqualTo(404);

        // A task whose worker sends no events is found in the result backend.
        Worker quiet = f.app.worker().hostname("java@quiet").queues("quiet").sendEvents(false).start();
        try {
            AsyncResult q = f.app.applyAsync("dash.add", List.of(20, 22), Map.of(),
                    SendOptions.builder().queue("quiet").build());
            assertThat(q.get(Duration.ofSeconds(10))).isEqualTo(42);
            JsonNode fromBackend = task(q.id());
            assertThat(fromBackend.get("state").asText()).isEqualTo("SUCCESS");
            assertThat(fromBackend.get("result").asText()).isEqualTo("42");
            assertThat(fromBackend.get("source").asText()).isEqualTo("result backend");
        } finally {
            quiet.shutdown(Duration.ofSeconds(5));
        }
    }

    @Test
    void aFailedTaskIsRetriedWithItsArgumentsAndLinkedToTheCopy() throws Exception {
        AsyncResult r = f.app.delay("dash.flaky", "api-retry");
        JsonNode failed = awaitState(r.id(), "FAILURE");
        assertThat(failed.get("exception").asText()).contains("upstream unavailable for api-retry");
        assertThat(failed.get("traceback").asText()).contains("IllegalStateException");

        String newId = json(f.adminPost("/api/tasks/" + r.id() + "/retry", "{}")).get("id").asText();
        assertThat(newId).isNotEqualTo(r.id());
        JsonNode copy = awaitState(newId, "SUCCESS");
        assertThat(copy.get("args").asText()).isEqualTo("('api-retry',)");
        assertThat(copy.get("result").asText()).isEqualTo("'ok api-retry'");
        assertThat(copy.get("retriedFrom").findValuesAsText("id")).containsExactly(r.id());
        assertThat(task(r.id()).get("retriedAs").asText()).isEqualTo(newId);
    }

    @Test
    void retryAllResendsEveryMatchingFailureOnce() throws Exception {
        AsyncResult a = f.app.delay("dash.flaky", "bulk-1");
        AsyncResult b = f.app.delay("dash.flaky", "bulk-2");
        awaitState(a.id(), "FAILURE");
        awaitState(b.id(), "FAILURE");
        assertThat(json(f.adminPost("/api/tasks/retry-all", "{\"search\":\"bulk-\"}")).get("retried").asInt())
                .isEqualTo(2);
        awaitState(task(a.id()).get("retriedAs").asText(), "SUCCESS");
        awaitState(task(b.id()).get("retriedAs").asText(), "SUCCESS");
        assertThat(json(f.adminPost("/api/tasks/retry-all", "{\"search\":\"bulk-\"}")).get("retried").asInt())
                .isZero();

        // Discarding takes failures off the Failed page (and out of the stored history), one or all matching.
        assertThat(json(f.adminPost("/api/tasks/" + a.id() + "/discard", "{}")).get("ok").asBoolean()).isTrue();
        assertThat(f.adminPost("/api/tasks/" + a.id() + "/discard", "{}").statusCode()).isEqualTo(404);
        assertThat(json(f.adminPost("/api/tasks/discard-failed", "{\"search\":\"bulk-\"}")).get("discarded")
                .asInt()).isEqualTo(1);
        assertThat(json(f.adminGet("/api/tasks?state=FAILURE&search=bulk-")).get("total").asInt()).isZero();
        f.dashboard.history().flush();
        assertThat(f.redis.sync().hexists(RedisHistoryStore.RECORDS, b.id())).isFalse();
    }

    @Test
    void deadLettersAreListedWithTheirReasonAndCanBeDiscarded() throws Exception {
        f.redis.sync().lpush("celery", "{ this is not a celery message");
        JsonNode dead = await().atMost(Duration.ofSeconds(10)).until(() -> json(f.adminGet("/api/dead-letters")),
                d -> d.size() > 0);
        assertThat(dead.get(0).get("payload").asText()).isEqualTo("{ this is not a celery message");
        assertThat(dead.get(0).get("reason").asText()).isNotBlank();
        String id = dead.get(0).get("id").asText();
        assertThat(json(f.adminPost("/api/dead-letters/" + id + "/discard", "{}")).get("ok").asBoolean()).isTrue();
        assertThat(f.adminPost("/api/dead-letters/" + id + "/discard", "{}").statusCode()).isEqualTo(404);
        assertThat(json(f.adminGet("/api/dead-letters")).findValuesAsText("id")).doesNotContain(id);
    }

    @Test
    void schedulesAreCreatedEditedDisabledRunAndDeleted() throws Exception {
        assertThat(json(f.adminPost("/api/schedules", "{\"name\":\"nightly\",\"task\":\"dash.add\","
                + "\"schedule\":\"crontab 30 2 * * *\",\"args\":[20,22]}")).get("ok").asBoolean()).isTrue();
        JsonNode list = json(f.adminGet("/api/schedules"));
        assertThat(list.get("entries").findValuesAsText("name")).contains("nightly");
        assertThat(f.schedules.entry("nightly").orElseThrow().schedule().spec()).isEqualTo("crontab 30 2 * * * UTC");

        json(f.adminPost("/api/schedules", "{\"name\":\"nightly\",\"previousName\":\"nightly\",\"task\":\"dash.add\","
                + "\"schedule\":\"every 45s\",\"args\":[20,22],\"enabled\":true}"));
        assertThat(f.schedules.entry("nightly").orElseThrow().schedule().spec()).isEqualTo("every 45s");
        json(f.adminPost("/api/schedules/nightly/enabled", "{\"enabled\":false}"));
        assertThat(f.schedules.entry("nightly").orElseThrow().enabled()).isFalse();

        String id = json(f.adminPost("/api/schedules/nightly/run", "{}")).get("id").asText();
        assertThat(f.app.result(id).get(Duration.ofSeconds(10))).isEqualTo(42);

        HttpResponse<String> bad = f.adminPost("/api/schedules", "{\"name\":\"x\",\"task\":\"t\",\"schedule\":\"whenever\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
        json(f.adminPost("/api/schedules/nightly/delete", "{}"));
        assertThat(f.schedules.entry("nightly")).isEmpty();
    }

    @Test
    void workersQueuesChartsAndMetricsReflectWhatRan() throws Exception {
        assertThat(f.app.delay("dash.add", 40, 2).get(Duration.ofSeconds(10))).isEqualTo(42);
        JsonNode w = await().atMost(Duration.ofSeconds(15)).until(() -> json(f.adminGet("/api/workers")),
                ws -> ws.size() > 0 && ws.get(0).get("poolSize").asInt() > 0 && ws.get(0).get("queues").size() > 0);
        assertThat(w.get(0).get("hostname").asText()).isEqualTo("java@dash");
        assertThat(w.get(0).get("online").asBoolean()).isTrue();
        assertThat(w.get(0).get("poolSize").asInt()).isEqualTo(2);
        assertThat(w.get(0).get("queues").get(0).asText()).isEqualTo("celery");

        JsonNode celery = await().atMost(Duration.ofSeconds(10)).until(
                () -> json(f.adminGet("/api/queues")).get("queues").get(0), c -> c.get("consumers").size() > 0);
        assertThat(celery.get("name").asText()).isEqualTo("celery");
        assertThat(celery.get("consumers").get(0).asText()).isEqualTo("java@dash");

        JsonNode charts = json(f.adminGet("/api/charts"));
        long adds = 0;
        for (JsonNode n : charts.get("throughput").get("dash.add")) {
            adds += n.asLong();
        }
        assertThat(adds).isPositive();
        assertThat(charts.get("queues").has("celery")).isTrue();

        String metrics = await().atMost(Duration.ofSeconds(10)).until(() -> f.adminGet("/metrics").body(),
                m -> m.contains("celeriac_queue_length{queue=\"celery\"}"));
        assertThat(metrics).contains("celeriac_tasks_total{state=\"succeeded\",task=\"dash.add\"}")
                .contains("celeriac_task_runtime_seconds_bucket{task=\"dash.add\"")
                .contains("celeriac_workers_online 1.0")
                .contains("celeriac_dead_letters");
    }

    @Test
    void poolResizeRateLimitRevokeAndShutdownReachTheWorkers() throws Exception {
        Worker second = f.app.worker().hostname("java@second").queues("second").concurrency(1).sendEvents(true)
                .start();
        try {
            json(f.adminPost("/api/workers/java@second/pool", "{\"delta\":2}"));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(((Map<?, ?>) second.stats()
                    .get("pool")).get("max-concurrency")).isEqualTo(3));
            json(f.adminPost("/api/workers/java@second/pool", "{\"delta\":-1}"));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(((Map<?, ?>) second.stats()
                    .get("pool")).get("max-concurrency")).isEqualTo(2));

            List<ControlMessage> seen = new CopyOnWriteArrayList<>();
            try (AutoCloseable sub = f.app.broker().controlBus().orElseThrow().subscribe(seen::add)) {
                json(f.adminPost("/api/rate-limit",
                        "{\"task\":\"dash.echo\",\"rate\":\"5/m\",\"worker\":\"java@second\"}"));
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(seen).anySatisfy(m -> {
                    assertThat(m.method()).isEqualTo("rate_limit");
                    assertThat(m.arguments()).containsEntry("task_name", "dash.echo").containsEntry("rate_limit", "5/m");
                    assertThat(m.destination()).containsExactly("java@second");
                }));
            }
            // Without a task name the request is the caller's mistake: a 400 that says so, not a 500.
            HttpResponse<String> noTask = f.adminPost("/api/rate-limit", "{\"rate\":\"5/m\"}");
            assertThat(noTask.statusCode()).isEqualTo(400);
            assertThat(noTask.body()).contains("task is required");

            AsyncResult parked = f.app.applyAsync("dash.echo", List.of("later"), Map.of(),
                    SendOptions.builder().queue("second")
                            .countdown(Duration.ofSeconds(30)).build());
            json(f.adminPost("/api/tasks/" + parked.id() + "/revoke", "{\"terminate\":false}"));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(second.revokedIds())
                    .contains(parked.id()));

            json(f.adminPost("/api/workers/java@second/shutdown", "{}"));
            assertThat(second.awaitTermination(Duration.ofSeconds(15))).isTrue();
            assertThat(f.worker.awaitTermination(Duration.ofMillis(1))).isFalse();
        } finally {
            second.shutdown(Duration.ofSeconds(5));
        }
    }
}
