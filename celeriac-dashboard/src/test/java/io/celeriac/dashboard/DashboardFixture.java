package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.redis.RedisScheduleStore;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * A real setup for dashboard tests: a private redis-server, an app, a worker sending events, and a dashboard with
 * an admin and a read-only user, its history and schedules in that Redis.
 */
final class DashboardFixture implements AutoCloseable {
    static final String ADMIN = "ops";
    static final String ADMIN_PASSWORD = "ops-secret";
    static final String VIEWER = "viewer";
    static final String VIEWER_PASSWORD = "viewer-secret";

    final Celeriac app;
    final Worker worker;
    final RedisScheduleStore schedules;
    final Dashboard dashboard;
    final RedisClient client;
    final StatefulRedisConnection<String, String> redis;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    DashboardFixture(RedisServerExtension server) {
        client = RedisClient.create(server.url(0));
        redis = client.connect();
        redis.sync().flushall();
        DemoTasks tasks = new DemoTasks();
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(server.url(0)).resultBackend(server.url(1)).build())
                .register(tasks).build();
        tasks.app = app;
        worker = app.worker().hostname("java@dash").concurrency(2).sendEvents(true).start();
        schedules = new RedisScheduleStore(server.url(0), app.config());
        dashboard = Dashboard.builder(app).port(0).scheduleStore(schedules)
                .historyStore(new RedisHistoryStore(server.url(0)))
                .user(ADMIN, ADMIN_PASSWORD, Role.ADMIN).user(VIEWER, VIEWER_PASSWORD, Role.READ_ONLY)
                .build().start();
    }

    String base() {
        return "http://127.0.0.1:" + dashboard.port();
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    HttpResponse<String> get(String path, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String auth, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> adminPost(String path, String json) throws Exception {
        return post(path, basic(ADMIN, ADMIN_PASSWORD), "application/json", json);
    }

    HttpResponse<String> adminGet(String path) throws Exception {
        return get(path, basic(ADMIN, ADMIN_PASSWORD));
    }

    @Override
    public void close() {
        dashboard.close();
        worker.shutdown(Duration.ofSeconds(5));
        schedules.close();
        app.close();
        redis.close();
        client.shutdown();
    }
}
