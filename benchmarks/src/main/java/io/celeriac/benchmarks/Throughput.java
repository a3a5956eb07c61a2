package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskStub;
import io.celeriac.worker.Worker;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end benchmark on a real Redis (broker in db 0, results in db 1), one worker in this JVM. Per configuration
 * and run: optionally the enqueue rate of single {@code delay()} calls from several producer threads (then those
 * messages are deleted), the enqueue rate of N no-op tasks sent in batches of 1,000 ({@code app.sendAll}), the drain
 * rate (worker start until every result is stored), then a paced run to measure publish-to-start latency. Prints one
 * line per configuration and run:
 * {@code celeriac config=<c> run=<i> tasks=N enqueue=<r>/s [enqueue8=<r>/s] drain=<r>/s lat_rate=<r>/s
 * lat_target=<r>/s lat_n=<n> pace=<ok|batched(x%)|behind(x%)> p50=<us>us p99=<us>us}.
 *
 * <p>Usage: {@code Throughput <redis://host:port> <tasks> <latencyTasks> <concurrency> <pace> <config>...}
 * <ul>
 *   <li>{@code pace}: tasks/s during the latency phase, or {@code 50%}: that share of the drain rate this run measured;
 *   <li>{@code config}: {@code prod} (acks late, prefetch multiplier 1), {@code default} (acks early, prefetch
 *       multiplier 4), either with {@code -events} appended (the worker sends task events, as {@code -E});
 *   <li>{@code latencyTasks}: the fewest latency tasks; with {@code -Dbench.latencySeconds=S} the phase sends
 *       max(latencyTasks, pace x S) tasks (but lasts at most max(20 s, S) unless that leaves fewer than 10);
 *   <li>{@code -Dbench.runs=R}: runs per configuration, one after the other in this JVM (default 1);
 *   <li>{@code -Dbench.warmup=N}: unmeasured runs of N tasks before the measured ones (default 0: none), of the
 *       first configuration, repeated until a drain is within 5 % of the one before it, at least twice and at most
 *       {@code -Dbench.warmupMax=W} times (default 6): the JIT is still compiling for a while after the first;
 *   <li>{@code -Dbench.<config>.prefetch=M}: another prefetch multiplier for that configuration (prod: 1, default: 4);
 *   <li>{@code -Dbench.broker=URL}: the broker to measure, e.g. {@code amqp://...} (default: the Redis, db 0);
 *       results are stored in the Redis given either way;
 *   <li>{@code -Dbench.enqueue8=M}: tasks for the multi-threaded enqueue figure (default 0: skipped), sent with
 *       {@code -Dbench.producers=P} threads (default 8).
 * </ul>
 * The producer that paces the latency phase sends one {@code delay()} per scheduled time; when it falls behind it
 * sends the tasks that are due together in {@code sendAll} calls of at most 100 ({@code pace=batched(share of tasks
 * sent that way)});
 * if even that leaves it short of the target rate it says {@code pace=behind(achieved share of the target)}.
 */
public final class Throughput {
    private static final Pattern RESULT = Pattern.compile("\"result\":\\s*([-0-9.eE]+)");
    private static final String TASK = "bench.noop";
    /** {@code -Dbench.broker=<url>}: another broker (RabbitMQ); results stay in the Redis given (db 1). */
    private static final java.util.Optional<String> BROKER =
            java.util.Optional.ofNullable(System.getProperty("bench.broker"));

    private Throughput() {
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        int tasks = Integer.parseInt(args[1]);
        int latencyTasks = Integer.parseInt(args[2]);
        int concurrency = Integer.parseInt(args[3]);
        String pace = args[4];
        List<String> configs = Arrays.asList(args).subList(5, args.length);
        int runs = Integer.getInteger("bench.runs", 1);
        double latencySeconds = Double.parseDouble(System.getProperty("bench.latencySeconds", "0"));
        int enqueue8 = Integer.getInteger("bench.enqueue8", 0);
        int producers = Integer.getInteger("bench.producers", 8);
        int warmup = Integer.getInteger("bench.warmup", 0);
        if (configs.equals(List.of("enqueue8"))) {
            // Its own JVM: run before a drain in the worker's JVM, 50,000 single sends from 8 threads left the drain
            // that followed a fifth slower in two runs of three (the producer's paths share code and JIT profiles with
            // the worker's), a cost no running worker pays. docs/BENCHMARKS.md has the figures.
            if (warmup > 0) {
                java.io.PrintStream out = System.out;
                System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
                try {
                    enqueue8Only(base, 0, warmup, producers); // unmeasured, as the drains' warm-up
                } finally {
                    System.setOut(out);
                }
            }
            for (int run = 1; run <= runs; run++) {
                enqueue8Only(base, run, enqueue8, producers);
            }
            System.exit(0);
        }
        if (warmup > 0 && !configs.isEmpty()) {
            // Unmeasured drains first: the JIT compiles the hot path, as it has in a worker that has been up for a
            // while. One drain of 30,000 was not enough: the C2 compiler threads still took a third of a second of
            // CPU in the first measured run, which drained 15-20 % slower than the next. So: until two drains in a
            // row agree within 5 %.
            int most = Math.max(1, Integer.getInteger("bench.warmupMax", 6));
            java.io.PrintStream out = System.out;
            List<String> rates = new ArrayList<>();
            double last = 0;
            for (int round = 1; round <= most; round++) {
                System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
                double rate;
                try {
                    rate = new Run(base, configs.get(0), 0, concurrency).go(warmup, 0, producers, pace, latencyTasks,
                            latencySeconds);
                } finally {
                    System.setOut(out);
                }
                rates.add(String.format(Locale.ROOT, "%.0f", rate));
                if (round >= 2 && Math.abs(rate - last) <= 0.05 * last) {
                    break;
                }
                last = rate;
            }
            System.err.printf(Locale.ROOT, "warm-up: %d drain(s) of %d tasks (%s, %s/s)%n", rates.size(), warmup,
                    configs.get(0), String.join(", ", rates));
        }
        for (String c : configs) {
            for (int run = 1; run <= runs; run++) {
                new Run(base, c, run, concurrency).go(tasks, enqueue8, producers, pace, latencyTasks, latencySeconds);
            }
        }
        System.exit(0);
    }

    private static final class Run {
        private final String base;
        private final String name;
        private final int run;
        private final int concurrency;
        private final boolean prod;
        private final boolean events;

        Run(String base, String name, int run, int concurrency) {
            this.base = base;
            this.name = name;
            this.run = run;
            this.concurrency = concurrency;
            this.events = name.endsWith("-events");
            String kind = events ? name.substring(0, name.length() - "-events".length()) : name;
            if (!kind.equals("prod") && !kind.equals("default")) {
                throw new IllegalArgumentException("unknown configuration " + name
                        + " (prod, default, prod-events, default-events)");
            }
            this.prod = kind.equals("prod");
        }

        /** Runs the phases and prints the line; returns the drain rate. */
        double go(int tasks, int enqueue8Tasks, int producers, String paceArg, int latencyTasks, double latencySeconds)
                throws Exception {
            RedisClient raw = RedisClient.create(base + "/1");
            try (StatefulRedisConnection<String, String> conn = raw.connect()) {
                RedisCommands<String, String> results = conn.sync();
                results.flushall();
                CeleriacConfig config = CeleriacConfig.builder().brokerUrl(BROKER.orElse(base + "/0"))
                        .resultBackend(base + "/1")
                        .acksLate(prod)
                        .prefetchMultiplier(Integer.getInteger("bench." + name + ".prefetch", prod ? 1 : 4))
                        .defaultQueue("bench")
                        .hostname("bench@%h").build();
                try (Celeriac app = Celeriac.builder().config(config).register(new BenchTasks()).build()) {
                    StringBuilder line = new StringBuilder();
                    line.append(String.format(Locale.ROOT, "celeriac config=%s run=%d tasks=%d", name, run, tasks));
                    BROKER.ifPresent(b -> line.append(" broker=").append(b.substring(0, b.indexOf(':'))));

                    // Enqueue, single delay() calls from several threads; the messages are then deleted.
                    String enqueue8 = null;
                    if (enqueue8Tasks > 0) {
                        double rate = enqueueThreads(app, enqueue8Tasks, producers);
                        enqueue8 = String.format(Locale.ROOT, " enqueue%d=%.0f/s", producers, rate);
                        app.broker().purge("bench");
                        results.flushdb();
                    }

                    // Enqueue, batches of 1,000 from one thread.
                    long t0 = System.nanoTime();
                    List<Signature> batch = new ArrayList<>(1000);
                    for (int i = 0; i < tasks; i++) {
                        batch.add(app.signature(TASK, BenchTasks.now()));
                        if (batch.size() == 1000) {
                            app.sendAll(batch);
                            batch.clear();
                        }
                    }
                    if (!batch.isEmpty()) {
                        app.sendAll(batch);
                    }
                    double enqueueSecs = (System.nanoTime() - t0) / 1e9;
                    line.append(String.format(Locale.ROOT, " enqueue=%.0f/s", tasks / enqueueSecs));
                    if (enqueue8 != null) {
                        line.append(enqueue8);
                    }

                    // Drain: from the first result stored until every result is (Celery's side is timed the same
                    // way, so neither side's start-up counts as draining).
                    long started = System.nanoTime();
                    Worker.Builder wb = app.worker().queues("bench").concurrency(concurrency);
                    if (events) {
                        wb.sendEvents(true);
                    }
                    Worker worker = wb.start();
                    long first = waitForResults(results, 1);
                    long t1 = System.nanoTime();
                    waitForResults(results, tasks);
                    double drain = (tasks - first) / ((System.nanoTime() - t1) / 1e9);
                    line.append(String.format(Locale.ROOT, " drain=%.0f/s start_secs=%.3f", drain, (t1 - started) / 1e9));

                    // Latency: paced sends while the worker is running and the queue is empty.
                    results.flushdb();
                    double target = paceArg.endsWith("%")
                            ? drain * Double.parseDouble(paceArg.substring(0, paceArg.length() - 1)) / 100
                            : Double.parseDouble(paceArg);
                    int n = latencyCount(target, latencyTasks, latencySeconds);
                    Paced paced = paced(app, target, n);
                    waitForResults(results, n);
                    List<Double> lat = latencies(results);
                    worker.shutdown(Duration.ofSeconds(10));
                    line.append(String.format(Locale.ROOT, " lat_rate=%.0f/s lat_target=%.0f/s lat_n=%d pace=%s"
                                    + " p50=%.0fus p99=%.0fus", paced.rate, target, n, paced.verdict(target),
                            pct(lat, 50) * 1e6, pct(lat, 99) * 1e6));
                    System.out.println(line);
                    return drain;
                }
            } finally {
                raw.shutdown();
            }
        }
    }

    /**
     * max(latencyTasks, target x latencySeconds), but the phase lasts at most max(20 s, latencySeconds) unless that
     * leaves fewer than 10 tasks; the same rule as {@code celery_bench.py}'s.
     */
    static int latencyCount(double target, int latencyTasks, double latencySeconds) {
        long n = Math.max(latencyTasks, Math.round(target * latencySeconds));
        double longest = Math.max(20, latencySeconds);
        if (n > target * longest) {
            n = Math.max(10, Math.round(target * longest));
        }
        return (int) n;
    }

    /** Sends {@code n} tasks with single {@code delay()} calls from {@code threads} threads; returns tasks/s. */
    /** Single {@code delay()} calls from {@code producers} threads, then deleted: one line, no drain. */
    private static void enqueue8Only(String base, int run, int tasks, int producers) throws Exception {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(BROKER.orElse(base + "/0"))
                .resultBackend(base + "/1").defaultQueue("bench").hostname("bench@%h").build();
        try (Celeriac app = Celeriac.builder().config(config).register(new BenchTasks()).build()) {
            double rate = enqueueThreads(app, tasks, producers);
            app.broker().purge("bench");
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "celeriac config=enqueue8 run=%d tasks=%d", run, tasks));
            BROKER.ifPresent(b -> line.append(" broker=").append(b.substring(0, b.indexOf(':'))));
            line.append(String.format(Locale.ROOT, " enqueue%d=%.0f/s", producers, rate));
            System.out.println(line);
        }
    }

    static double enqueueThreads(Celeriac app, int n, int threads) throws InterruptedException {
        TaskStub stub = app.task(TASK);
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int share = n / threads + (t < n % threads ? 1 : 0);
            Thread th = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                    for (int i = 0; i < share; i++) {
                        stub.delay(BenchTasks.now());
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-producer-" + t);
            th.start();
            ts.add(th);
        }
        ready.await();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread th : ts) {
            th.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (failure.get() != null) {
            throw new IllegalStateException("a producer thread failed", failure.get());
        }
        return n / secs;
    }

    record Paced(double rate, int batchedTasks, int n) {
        String verdict(double target) {
            if (rate < 0.95 * target) {
                return String.format(Locale.ROOT, "behind(%.0f%%)", 100 * rate / target);
            }
            if (batchedTasks > 0) {
                return String.format(Locale.ROOT, "batched(%.1f%%)", 100.0 * batchedTasks / n);
            }
            return "ok";
        }
    }

    /**
     * Sends {@code n} tasks at {@code perSecond}: task i is due at start + i / perSecond. One {@code delay()} per
     * due task; when more than one is due (the producer fell behind) they go out together in one {@code sendAll} (at
     * most 100 per call).
     * Waits by parking while the next task is far enough away, spinning for the last stretch, so the producer does
     * not hold a core of its own at low rates.
     */
    static Paced paced(Celeriac app, double perSecond, int n) {
        TaskStub stub = app.task(TASK);
        double interval = 1e9 / perSecond;
        int sent = 0;
        int batched = 0;
        long start = System.nanoTime();
        List<Signature> batch = new ArrayList<>();
        while (sent < n) {
            long due = start + (long) (sent * interval);
            long now = System.nanoTime();
            if (now < due) {
                if (due - now > 150_000) {
                    LockSupport.parkNanos(due - now - 100_000);
                } else {
                    Thread.onSpinWait();
                }
                continue;
            }
            int dueCount = (int) Math.min(n - sent, (long) ((now - start) / interval) + 1 - sent);
            if (dueCount <= 1) {
                stub.delay(BenchTasks.now());
                sent++;
            } else {
                int k = Math.min(dueCount, 100);
                batch.clear();
                for (int i = 0; i < k; i++) {
                    batch.add(app.signature(TASK, BenchTasks.now()));
                }
                app.sendAll(batch);
                sent += k;
                batched += k;
            }
        }
        double secs = (System.nanoTime() - start) / 1e9;
        // n tasks span n - 1 intervals when on time.
        double rate = n > 1 ? (n - 1) / secs : n / secs;
        return new Paced(rate, batched, n);
    }

    /** Waits until at least {@code n} results are stored; returns how many are. */
    private static long waitForResults(RedisCommands<String, String> results, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(30).toNanos();
        while (true) {
            long have = results.dbsize();
            if (have >= n) {
                return have;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("results did not arrive: " + have + " of " + n);
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
