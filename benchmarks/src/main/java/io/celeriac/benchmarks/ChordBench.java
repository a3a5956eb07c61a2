package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.Chord;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A chord of N no-op parts on a real Redis (broker and result backend), timed from the start of the send to the
 * body's result. One worker runs with the same settings as {@link Throughput}; before the timed chord a smaller one
 * warms it up (and proves the worker is consuming). The body returns the number of results it got, which must be N.
 *
 * <p>Prints one line per configuration:
 * {@code celeriac config=<c> parts=N send=<s>s body_done=<s>s total=<s>s rate=<r>/s body=N}, where {@code send} is
 * how long {@code applyAsync()} took, {@code body_done} the time until the body's result was written (its
 * {@code date_done}, the worker's clock on the same machine), {@code total} the time until {@code AsyncResult.get}
 * returned, and {@code rate} is N / total.
 *
 * <p>Usage: {@code ChordBench <redis://host:port> <parts> <warm-up parts> <concurrency> <prod|default>...}
 */
public final class ChordBench {
    private static final Duration LIMIT = Duration.ofMinutes(30);

    private ChordBench() {
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        int parts = Integer.parseInt(args[1]);
        int warmup = Integer.parseInt(args[2]);
        int concurrency = Integer.parseInt(args[3]);
        for (String config : Arrays.asList(args).subList(4, args.length)) {
            run(base, parts, warmup, concurrency, config);
        }
        System.exit(0);
    }

    private static void run(String base, int parts, int warmup, int concurrency, String name)
            throws InterruptedException {
        boolean prod = name.equals("prod");
        RedisClient raw = RedisClient.create(base);
        try (StatefulRedisConnection<String, String> conn = raw.connect()) {
            conn.sync().flushall();
        } finally {
            raw.shutdown();
        }
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(base + "/0").resultBackend(base + "/1")
                .acksLate(prod).prefetchMultiplier(prod ? 1 : 4).defaultQueue("bench").hostname("bench@%h").build();
        try (Celeriac app = Celeriac.builder().config(config).register(new ChordTasks()).build()) {
            Worker worker = app.worker().queues("bench").concurrency(concurrency).start();
            if (warmup > 0) {
                check(chord(app, warmup).applyAsync().get(LIMIT), warmup, "warm-up");
            }
            Chord chord = chord(app, parts);
            Instant start = Instant.now();
            long t0 = System.nanoTime();
            AsyncResult body = chord.applyAsync();
            long sent = System.nanoTime();
            Object size = body.get(LIMIT);
            long done = System.nanoTime();
            check(size, parts, "timed");
            // When the worker wrote the body's result (its date_done), apart from when this client learnt of it.
            Instant bodyDone = body.document().orElseThrow().dateDone();
            checkRan(worker, warmup + (long) parts);
            worker.shutdown(Duration.ofSeconds(10));
            double total = (done - t0) / 1e9;
            System.out.printf(Locale.ROOT, "celeriac config=%s parts=%d send=%.2fs body_done=%.2fs total=%.2fs "
                    + "rate=%.0f/s body=%s%n", name, parts, (sent - t0) / 1e9,
                    Duration.between(start, bodyDone).toNanos() / 1e9, total, parts / total, size);
        }
    }

    private static Chord chord(Celeriac app, int parts) {
        List<Signature> header = new ArrayList<>(parts);
        for (int i = 0; i < parts; i++) {
            header.add(app.signature("chord.noop"));
        }
        return Canvas.chord(header, app.signature("chord.count"));
    }

    /** Every part ran exactly once (no redelivery in a run without faults); the counter may trail the result. */
    private static void checkRan(Worker worker, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long ran;
        while ((ran = worker.processed().getOrDefault("chord.noop", 0L)) < expected && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        if (ran != expected) {
            throw new IllegalStateException("the worker ran " + ran + " parts, expected " + expected);
        }
    }

    // why: a benchmark that can silently be wrong is worse than none; the body counts what it was given.
    private static void check(Object size, int parts, String which) {
        if (!(size instanceof Number n) || n.longValue() != parts) {
            throw new IllegalStateException(which + " chord body returned " + size + ", expected " + parts);
        }
    }
}
