package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end benchmark on a real Redis: enqueue N no-op tasks, then drain them with one worker until every result
 * is stored; then a paced run to measure publish-to-start latency. Prints one line per configuration:
 * {@code celeriac config=<c> tasks=N enqueue=<r>/s drain=<r>/s p50=<ms> p99=<ms>}.
 *
 * <p>Usage: {@code Throughput <redis://host:port> <tasks> <latencyTasks> <concurrency> <pace/s> <prod|default>...}
 */
public final class Throughput {
    private static final Pattern RESULT = Pattern.compile("\"result\":\\s*([-0-9.eE]+)");

    private Throughput() {
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        int tasks = Integer.parseInt(args[1]);
        int latencyTasks = Integer.parseInt(args[2]);
        int concurrency = Integer.parseInt(args[3]);
        double pace = Double.parseDouble(args[4]);
        List<String> configs = Arrays.asList(args).subList(5, args.length);
        for (String c : configs) {
            run(base, tasks, latencyTasks, concurrency, pace, c);
        }
        System.exit(0);
    }

    private static void run(String base, int tasks, int latencyTasks, int concurrency, double pacePerSecond,
                            String name) throws Exception {
        boolean prod = name.equals("prod");
        String brokerUrl = base + "/0";
        String backendUrl = base + "/1";
        RedisClient raw = RedisClient.create(base + "/1");
        try (StatefulRedisConnection<String, String> conn = raw.connect()) {
            RedisCommands<String, String> results = conn.sync();
            results.flushall();
            CeleriacConfig config = CeleriacConfig.builder().brokerUrl(brokerUrl).resultBackend(backendUrl)
                    .acksLate(prod).prefetchMultiplier(prod ? 1 : 4).defaultQueue("bench")
                    .hostname("bench@%h").build();
            try (Celeriac app = Celeriac.builder().config(config).register(new BenchTasks()).build()) {
                // Enqueue
                long t0 = System.nanoTime();
                List<Signature> batch = new ArrayList<>(1000);
                for (int i = 0; i < tasks; i++) {
                    batch.add(app.signature("bench.noop", System.currentTimeMillis() / 1000.0));
                    if (batch.size() == 1000) {
                        app.sendAll(batch);
                        batch.clear();
                    }
                }
                if (!batch.isEmpty()) {
                    app.sendAll(batch);
                }
                double enqueueSecs = (System.nanoTime() - t0) / 1e9;

                // Drain: from worker start until every result is stored.
                long t1 = System.nanoTime();
                Worker worker = app.worker().queues("bench").concurrency(concurrency).start();
                waitForResults(results, tasks);
                double drainSecs = (System.nanoTime() - t1) / 1e9;

                // Latency: paced sends while the worker is idle and ready.
                results.flushdb();
                long pace = Math.max(1, (long) (1e9 / pacePerSecond));
                long next = System.nanoTime();
                for (int i = 0; i < latencyTasks; i++) {
                    while (System.nanoTime() < next) {
                        Thread.onSpinWait();
                    }
                    app.task("bench.noop").delay(System.currentTimeMillis() / 1000.0);
                    next += pace;
                }
                waitForResults(results, latencyTasks);
                List<Double> lat = latencies(results);
                worker.shutdown(Duration.ofSeconds(10));
                System.out.printf(Locale.ROOT, "celeriac config=%s tasks=%d enqueue=%.0f/s drain=%.0f/s "
                                + "p50=%.1fms p99=%.1fms%n", name, tasks, tasks / enqueueSecs, tasks / drainSecs,
                        pct(lat, 50) * 1000, pct(lat, 99) * 1000);
            }
        } finally {
            raw.shutdown();
        }
    }

    private static void waitForResults(RedisCommands<String, String> results, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
        while (results.dbsize() < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("results did not arrive: " + results.dbsize() + " of " + n);
            }
            Thread.sleep(5);
        }
    }

    private static List<Double> latencies(RedisCommands<String, String> results) {
        List<Double> out = new ArrayList<>();
        ScanCursor cursor = ScanCursor.INITIAL;
        do {
            KeyScanCursor<String> page = results.scan(cursor, ScanArgs.Builder.matches("celery-task-meta-*").limit(1000));
            if (!page.getKeys().isEmpty()) {
                for (KeyValue<String, String> kv : results.mget(page.getKeys().toArray(String[]::new))) {
                    Matcher m = RESULT.matcher(kv.getValue());
                    if (m.find()) {
                        out.add(Double.parseDouble(m.group(1)));
                    }
                }
            }
            cursor = page;
        } while (!cursor.isFinished());
        Collections.sort(out);
        return out;
    }

    static double pct(List<Double> sorted, int p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

}
