package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.Signature;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Fills the benchmark queue for a worker started separately ({@code footprint.sh}): N tasks in batches of 1,000
 * ({@code app.sendAll}) to queue {@code bench}, broker in db 0, results in db 1.
 *
 * <p>Usage: {@code Enqueue <redis://host:port> <n> <bench.noop|bench.now>}; prints {@code enqueued=N rate=<r>/s}.
 */
public final class Enqueue {
    private Enqueue() {
    }

    public static void main(String[] args) {
        String base = args[0];
        int n = Integer.parseInt(args[1]);
        String task = args[2];
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(base + "/0").resultBackend(base + "/1")
                .defaultQueue("bench").build();
        try (Celeriac app = Celeriac.builder().config(config).build()) {
            long t0 = System.nanoTime();
            List<Signature> batch = new ArrayList<>(1000);
            for (int i = 0; i < n; i++) {
                batch.add(task.equals("bench.noop") ? app.signature(task, BenchTasks.now()) : app.signature(task));
                if (batch.size() == 1000 || i == n - 1) {
                    app.sendAll(batch);
                    batch.clear();
                }
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "enqueued=%d rate=%.0f/s%n", n, n / secs);
        }
        System.exit(0);
    }
}
