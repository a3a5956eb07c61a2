package io.celeriac.interop;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.dashboard.Dashboard;
import io.celeriac.dashboard.Role;
import io.celeriac.dashboard.TaskRecord;
import io.celeriac.dashboard.WorkerInfo;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The dashboard shows a Python Celery worker and its tasks next to ours, and re-sends a task Python failed. */
class DashboardInteropIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @Test
    void pythonAndJavaWorkersShowAlike() throws Exception {
        RedisClient client = RedisClient.create(REDIS.url(0));
        StatefulRedisConnection<String, String> connection = client.connect();
        connection.sync().flushall();
        PythonCelery python = new PythonCelery(REDIS.url(0), REDIS.url(1));
        Celeriac app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1)).build())
                .register(new InteropTasks(connection.sync())).build();
        Worker java = app.worker().hostname("java@board").queues("java").sendEvents(true).start();
        // Prefork, Celery's default pool: its threads pool now and then drops a buffered task event.
        Process py = python.worker("py", "py", 2, "-E", "-P", "prefork");
        Dashboard dashboard = Dashboard.builder(app).port(0).user("ops", "pw", Role.ADMIN).build().start();
        try {
            List<WorkerInfo> workers = await().atMost(Duration.ofSeconds(60)).until(dashboard::workers,
                    ws -> ws.stream().filter(WorkerInfo::online).count() == 2
                            && ws.stream().allMatch(w -> w.poolSize() > 0));
            WorkerInfo pw = workers.stream().filter(w -> w.hostname().startsWith("py@")).findFirst().orElseThrow();
            assertThat(pw.software()).startsWith("py-celery 5.");
            assertThat(pw.poolSize()).isEqualTo(2);
            assertThat(pw.queues()).containsExactly("py");
            WorkerInfo jw = workers.stream().filter(w -> w.hostname().equals("java@board")).findFirst().orElseThrow();
            assertThat(jw.software()).startsWith("celeriac ");

            SendOptions toPy = SendOptions.builder().queue("py").build();
            AsyncResult mul = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(), toPy);
            AsyncResult fail = app.applyAsync("interop.py_fail", List.of("no such key"), Map.of(), toPy);
            TaskRecord done = await().atMost(Duration.ofSeconds(30)).until(() -> dashboard.history().get(mul.id()),
                    r -> r.isPresent() && r.get().state().equals("SUCCESS")).orElseThrow();
            assertThat(done.result()).isEqualTo("42");
            assertThat(done.args()).isEqualTo("(6, 7)");
            assertThat(done.worker()).startsWith("py@");
            assertThat(done.runtime()).isNotNull();
            TaskRecord failed = await().atMost(Duration.ofSeconds(30)).until(() -> dashboard.history().get(fail.id()),
                    r -> r.isPresent() && r.get().state().equals("FAILURE")).orElseThrow();
            // Celery's threads pool reports the exception as a wrapper; the traceback names the real one.
            assertThat(failed.exception()).isNotBlank();
            assertThat(failed.traceback()).contains("Traceback").contains("KeyError").contains("no such key");

            // Python's events give arguments only as a repr; the dashboard reads it back to re-send the task.
            String again = dashboard.retry(fail.id());
            assertThatThrownBy(() -> app.result(again).get(Duration.ofSeconds(30)))
                    .hasMessageContaining("KeyError").hasMessageContaining("no such key");
            Optional<TaskRecord> copy = await().atMost(Duration.ofSeconds(30)).until(
                    () -> dashboard.history().get(again), r -> r.isPresent() && r.get().worker() != null);
            assertThat(copy.orElseThrow().args()).isEqualTo("('no such key',)");
            assertThat(copy.orElseThrow().worker()).startsWith("py@");
        } finally {
            dashboard.close();
            PythonCelery.stop(py);
            java.shutdown(Duration.ofSeconds(5));
            app.close();
            connection.close();
            client.shutdown();
        }
    }
}
