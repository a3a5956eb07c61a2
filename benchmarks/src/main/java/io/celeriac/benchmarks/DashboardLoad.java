package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.dashboard.Dashboard;
import io.celeriac.dashboard.RedisHistoryStore;
import io.celeriac.dashboard.Role;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The dashboard under a full history: runs N real tasks through a worker with events on, times how fast the
 * dashboard takes their events in, then times its busiest pages over HTTP with N tasks in the history, and how long
 * a restarted dashboard takes to load them back from Redis.
 *
 * <p>Usage: {@code java -cp celeriac-benchmarks.jar io.celeriac.benchmarks.DashboardLoad redis://host:port N}
 */
public final class DashboardLoad {
    private static final String AUTH = "Basic " + Base64.getEncoder().encodeToString(
            "bench:bench".getBytes(StandardCharsets.UTF_8));

    private DashboardLoad() {
    }

    public static void main(String[] argv) throws Exception {
        String url = argv[0];
        int n = Integer.parseInt(argv[1]);
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url + "/0").resultBackend(url + "/1")
                .ignoreResult(true).build();
        try (Celeriac app = Celeriac.builder().config(config).register(new BenchTasks()).build()) {
            app.broker().purge("celery");
            Dashboard board = dashboard(app, url, n);
            Worker worker = app.worker().concurrency(8).sendEvents(true).start();
            long t0 = System.nanoTime();
            List<Signature> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                batch.add(app.signature("bench.noop", System.currentTimeMillis() / 1000.0));
                if (batch.size() == 1000) {
                    app.sendAll(batch);
                    batch.clear();
                }
            }
            app.sendAll(batch);
            double workerDone = -1;
            while (count(board, "SUCCESS") < n) {
                if (workerDone < 0 && worker.processedTotal() >= n) {
                    workerDone = (System.nanoTime() - t0) / 1e9;
                }
                Thread.sleep(20);
            }
            double ingest = (System.nanoTime() - t0) / 1e9;
            if (workerDone < 0) {
                workerDone = ingest;
            }
            System.out.printf("dashboard: %d tasks run and their %d events taken in: %.1f s (%.0f tasks/s); the "
                    + "worker finished at %.1f s, the dashboard %.1f s later%n", n, 3 * n, ingest, n / ingest,
                    workerDone, ingest - workerDone);
            worker.shutdown(Duration.ofSeconds(10));

            Map<String, double[]> timings = new LinkedHashMap<>();
            String base = "http://127.0.0.1:" + board.port();
            HttpClient http = HttpClient.newHttpClient();
            String id = "";
            for (String[] page : new String[][] {
                    {"tasks, first page", "/api/tasks?limit=50"},
                    {"tasks, search args", "/api/tasks?search=no-such-text&limit=50"},
                    {"tasks, state+name", "/api/tasks?state=SUCCESS&name=bench.noop&limit=50"},
                    {"tasks, last page", "/api/tasks?offset=" + (n - 50) + "&limit=50"},
                    {"charts", "/api/charts"},
                    {"queues", "/api/queues"},
                    {"workers", "/api/workers"}}) {
                timings.put(page[0], time(http, base + page[1], 30));
            }
            board.close();
            long r0 = System.nanoTime();
            Dashboard again = dashboard(app, url, n);
            double reload = (System.nanoTime() - r0) / 1e9;
            int loaded = again.history().size();
            again.close();

            System.out.printf("%-20s %10s %10s%n", "GET (" + n + " in history)", "median ms", "p95 ms");
            timings.forEach((k, v) -> System.out.printf("%-20s %10.1f %10.1f%n", k, v[0], v[1]));
            System.out.printf("restart: %d tasks loaded from Redis in %.1f s%n", loaded, reload);
            double worst = timings.values().stream().mapToDouble(v -> v[1]).max().orElse(0);
            System.out.printf("SUMMARY dashboard with %d tasks: ingest %.0f tasks/s, slowest page p95 %.0f ms, "
                    + "first page median %.1f ms, restart %.1f s%n", n, n / ingest, worst,
                    timings.get("tasks, first page")[0], reload);
        }
    }

    private static Dashboard dashboard(Celeriac app, String url, int n) {
        return Dashboard.builder(app).port(0).historySize(n).historyStore(new RedisHistoryStore(url + "/0"))
                .user("bench", "bench", Role.ADMIN).build().start();
    }

    private static int count(Dashboard board, String state) {
        return board.history().query(new io.celeriac.dashboard.TaskQuery(java.util.Set.of(state), null, null, null,
                0, 1)).total();
    }

    /** Median and p95 latency in ms of {@code runs} GETs, after a few warm-up calls. */
    private static double[] time(HttpClient http, String url, int runs) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url)).header("Authorization", AUTH).build();
        for (int i = 0; i < 5; i++) {
            check(http.send(req, HttpResponse.BodyHandlers.ofString()));
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            check(http.send(req, HttpResponse.BodyHandlers.ofString()));
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return new double[] {ms[runs / 2], ms[(int) Math.ceil(runs * 0.95) - 1]};
    }

    private static void check(HttpResponse<String> r) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.uri() + " answered " + r.statusCode() + ": " + r.body());
        }
    }
}
