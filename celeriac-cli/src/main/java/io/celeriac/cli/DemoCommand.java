package io.celeriac.cli;

import io.celeriac.dashboard.Dashboard;
import io.celeriac.dashboard.RedisHistoryStore;
import java.util.concurrent.CountDownLatch;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.Beat;
import io.celeriac.beat.InMemoryScheduleStore;
import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.examples.DemoTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskRequest;
import io.celeriac.worker.Worker;
import io.celeriac.worker.WorkerListener;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Runs producer and worker in one process on the embedded broker and prints what happens: a flaky e-mail task that
 * retries with backoff, and a slow PDF task on its own queue.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run Redis, a worker and example tasks in one process; nothing to install.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--emails", defaultValue = "5", description = "Welcome e-mails to send (default: ${DEFAULT-VALUE}).")
    int emails;

    @Option(names = "--pdfs", defaultValue = "2", description = "PDFs to render (default: ${DEFAULT-VALUE}).")
    int pdfs;

    @Option(names = "--broker", description = "Broker URL (default: a Redis started for the demo from the "
            + "binary inside the jar; memory:// runs on the in-process broker).")
    @Nullable String broker;

    private final CountDownLatch finished = new CountDownLatch(1);

    @Option(names = "--dashboard", description = "Also run the dashboard, and keep everything running after the "
            + "example tasks until Ctrl-C.")
    boolean dashboard;

    @Option(names = "--dashboard-port", defaultValue = "5555", description = "Dashboard port (default: "
            + "${DEFAULT-VALUE}).")
    int dashboardPort;

    @Override
    public Integer call() throws Exception {
        EmbeddedRedis embedded = null;
        String url = broker;
        if (url == null) {
            try {
                embedded = EmbeddedRedis.start();
                url = embedded.url(0);
                say("Started an embedded Redis at %s (results in db 1)", url);
            } catch (Exception e) {
                say("Could not start the embedded Redis (%s); using the in-process broker instead", e.getMessage());
                url = "memory://";
            }
        }
        try {
            return run(url, url.startsWith("memory://") ? url : url.replaceAll("/\\d+$", "") + "/1");
        } finally {
            if (embedded != null) {
                embedded.close();
            }
            finished.countDown();
        }
    }

    private int run(String brokerUrl, String backendUrl) throws Exception {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(brokerUrl).resultBackend(backendUrl)
                .hostname("demo@%h").build();
        try (Celeriac app = Celeriac.builder().config(config).register(new DemoTasks()).build()) {
            Worker worker = app.worker().queues("celery", "email", "render").concurrency(4)
                    .listener(new Narrator()).sendEvents(dashboard).start();
            // Beat, with a periodic entry, so the demo shows scheduling too.
            InMemoryScheduleStore schedules = new InMemoryScheduleStore(app.clock());
            schedules.save(ScheduleEntry.of("demo.heartbeat", "demo.add", IntervalSchedule.every(Duration.ofSeconds(1)),
                    1, 1));
            Beat beat = new Beat(app, schedules).start();
            Dashboard board = null;
            if (dashboard) {
                Dashboard.Builder b = Dashboard.builder(app).port(dashboardPort).scheduleStore(schedules)
                        .queues("email", "render");
                if (brokerUrl.startsWith("redis://")) {
                    b.historyStore(new RedisHistoryStore(brokerUrl));
                }
                board = b.build().start();
                say("Dashboard at http://127.0.0.1:%d/ (user admin, password %s)", board.port(),
                        board.generatedPassword().orElse("?"));
            }
            say("Sending %d welcome e-mails (queue email, flaky: retries with backoff) and %d PDFs (queue render)",
                    emails, pdfs);
            Map<String, AsyncResult> results = new LinkedHashMap<>();
            results.put("demo.add(2, 3)", app.task("demo.add").delay(2, 3));
            for (int i = 1; i <= emails; i++) {
                results.put("email to user " + i, app.task("demo.send_welcome_email").delay(i));
            }
            for (int i = 1; i <= pdfs; i++) {
                long order = 1000 + i;
                results.put("pdf for order " + order, app.task("demo.render_pdf").applyAsync(List.of(order, 8),
                        Map.of(), SendOptions.builder().taskId("order-" + order + "-render_pdf").build()));
            }
            List<String> lines = new ArrayList<>();
            int failed = 0;
            for (Map.Entry<String, AsyncResult> e : results.entrySet()) {
                try {
                    Object value = e.getValue().get(Duration.ofSeconds(60));
                    lines.add(String.format("  %-22s SUCCESS  %s", e.getKey(), value));
                } catch (RuntimeException ex) {
                    failed++;
                    lines.add(String.format("  %-22s %s  %s", e.getKey(), e.getValue().state(), ex.getMessage()));
                }
            }
            if (board != null) {
                say("All %d tasks finished; the dashboard, worker and beat keep running (Ctrl-C to stop)",
                        results.size());
                lines.forEach(System.out::println);
                CountDownLatch stop = new CountDownLatch(1);
                // The hook waits for the cleanup below (and the embedded Redis) before the JVM goes.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    stop.countDown();
                    try {
                        finished.await(20, java.util.concurrent.TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "celeriac-demo-stop"));
                stop.await();
                board.close();
            }
            beat.close();
            worker.shutdown(Duration.ofSeconds(10));
            if (board == null) {
                say("All %d tasks finished:", results.size());
                lines.forEach(System.out::println);
            }
            say("Beat sent the periodic entry demo.heartbeat (demo.add every 1 s) %d time(s)",
                    schedules.state("demo.heartbeat").totalRunCount());
            return failed == 0 ? 0 : 1;
        }
    }

    static void say(String format, Object... args) {
        System.out.printf("==> " + format + "%n", args);
        System.out.flush();
    }

    /** Prints the lifecycle a Celery user would watch in Flower. */
    private static final class Narrator implements WorkerListener {
        @Override
        public void taskRetried(TaskRequest r, @Nullable Throwable reason, Duration countdown) {
            say("%s[%s] failed (%s); retry %d in %.1f s", r.task(), shortId(r.id()),
                    reason == null ? "retry" : reason.getMessage(), r.retries() + 1, countdown.toMillis() / 1000.0);
        }

        @Override
        public void taskSucceeded(TaskRequest r, @Nullable Object result, Duration runtime) {
            say("%s[%s] done in %d ms: %s", r.task(), shortId(r.id()), runtime.toMillis(), result);
        }

        private static String shortId(String id) {
            return id.length() > 8 ? id.substring(0, 8) : id;
        }
    }
}
