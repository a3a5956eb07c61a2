package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.redis.RedisScheduleStore;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static io.celeriac.dashboard.DashboardFixture.ADMIN;
import static io.celeriac.dashboard.DashboardFixture.ADMIN_PASSWORD;
import static io.celeriac.dashboard.DashboardFixture.basic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The dashboard started while its Redis (broker, history and schedules) is down: it serves its pages at once, says
 * what it cannot reach, and once Redis answers shows workers and tasks from the event stream, each event once.
 */
class DashboardStartupDuringOutageIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(Dashboard d, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.port() + path))
                .timeout(Duration.ofSeconds(20)).header("Authorization", basic(ADMIN, ADMIN_PASSWORD)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void startedWhileRedisIsDownItServesPagesAndShowsEventsOnceRedisIsBack() throws Exception {
        REDIS.stop();
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).build()).register(new DemoTasks()).build();
             RedisScheduleStore schedules = new RedisScheduleStore(REDIS.url(0), app.config());
             // As `celeriac dashboard` runs it: history and schedules in the broker's Redis.
             Dashboard dashboard = Dashboard.builder(app).port(0).scheduleStore(schedules)
                     .historyStore(new RedisHistoryStore(REDIS.url(0))).user(ADMIN, ADMIN_PASSWORD, Role.ADMIN)
                     .build().start();
             // History in memory only: its first steps while Redis is down are failed event subscriptions.
             Dashboard eventsOnly = Dashboard.builder(app).port(0).user(ADMIN, ADMIN_PASSWORD, Role.ADMIN)
                     .build().start()) {
            assertThat(dashboard.connected()).isFalse();
            assertThat(eventsOnly.connected()).isFalse();
            HttpResponse<String> page = get(dashboard, "/tasks");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("/static/app.js");
            assertThat(get(dashboard, "/api/tasks").statusCode()).isEqualTo(200);
            // What needs Redis says so, without taking the dashboard down.
            HttpResponse<String> queues = get(dashboard, "/api/queues");
            assertThat(queues.statusCode()).isEqualTo(503);
            assertThat(queues.body()).contains("127.0.0.1:" + REDIS.port());
            assertThat(get(dashboard, "/api/schedules").statusCode()).isEqualTo(503);

            Thread.sleep(3000); // a few failed connection attempts, each leaving what it leaves behind
            REDIS.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> dashboard.connected() && eventsOnly.connected());
            Worker worker = app.worker().hostname("java@outage").concurrency(1).sendEvents(true).start();
            try {
                AsyncResult r = app.task("dash.add").delay(20, 22);
                assertThat(r.get(Duration.ofSeconds(30))).isEqualTo(42);
                for (Dashboard d : new Dashboard[] {dashboard, eventsOnly}) {
                    await().atMost(Duration.ofSeconds(30)).until(() -> get(d, "/api/tasks/" + r.id()).body(),
                            b -> b.contains("\"state\":\"SUCCESS\""));
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> get(dashboard, "/api/workers").body(),
                        b -> b.contains("java@outage"));
                assertThat(get(dashboard, "/api/queues").statusCode()).isEqualTo(200);
                assertThat(get(dashboard, "/api/schedules").statusCode()).isEqualTo(200);
                // Each event counted once: subscription attempts that failed while Redis was down left no listener
                // that delivers it again.
                String succeeded = "celeriac_tasks_total{state=\"succeeded\",task=\"dash.add\"} ";
                for (Dashboard d : new Dashboard[] {dashboard, eventsOnly}) {
                    String metrics = await().atMost(Duration.ofSeconds(30)).until(() -> get(d, "/metrics").body(),
                            m -> m.contains(succeeded));
                    assertThat(metrics).contains(succeeded + "1.0\n");
                }
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
            }
        }
    }
}
