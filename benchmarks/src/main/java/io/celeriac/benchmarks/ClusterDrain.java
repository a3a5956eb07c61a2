package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Drain throughput on a Redis Cluster ({@code redis+cluster://}): N no-op acks-late tasks spread over Q queues (each in
 * its own slot), sent in batches of 1,000, then one worker in this JVM consuming every queue, timed from its start
 * until every task ran (counted by the task itself; results are ignored so that only the broker is measured).
 * Prints {@code cluster masters=<m> tasks=N queues=Q drain=<r>/s seconds=<s>}.
 *
 * <p>Usage: {@code ClusterDrain <redis+cluster://...> <masters> <tasks> <queues> <concurrency>}. Writes are not
 * waited for by a replica ({@code wait_for_replicas=0}): the benchmark's clusters have none.
 */
public final class ClusterDrain {
    private static final AtomicLong RUNS = new AtomicLong();

    /** The benchmark's task: counts its runs. */
    public static final class Tasks {
        @Task(name = "bench.cluster.noop")
        public int noop() {
            RUNS.incrementAndGet();
            return 0;
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int masters = Integer.parseInt(args[1]);
        int tasks = Integer.parseInt(args[2]);
        int queues = Integer.parseInt(args[3]);
        int concurrency = Integer.parseInt(args[4]);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < queues; i++) {
            names.add("bench.q" + i);
        }
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url).resultBackend(url).acksLate(true)
                .prefetchMultiplier(4).ignoreResult(true).hostname("cluster-bench@localhost")
                .brokerTransportOptions(Map.of("wait_for_replicas", 0)).build();
        try (Celeriac app = Celeriac.builder().config(config).register(new Tasks()).build()) {
            List<Signature> batch = new ArrayList<>(1000);
            for (int i = 0; i < tasks; i++) {
                batch.add(app.signature("bench.cluster.noop").withOptions(
                        SendOptions.builder().queue(names.get(i % queues)).build()));
                if (batch.size() == 1000 || i == tasks - 1) {
                    app.sendAll(batch);
                    batch.clear();
                }
            }
            RUNS.set(0);
            long start = System.nanoTime();
            Worker worker = app.worker().queues(names).concurrency(concurrency).start();
            try {
                while (RUNS.get() < tasks) {
                    Thread.sleep(5);
                }
            } finally {
                worker.shutdownNow();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "cluster masters=%d tasks=%d queues=%d drain=%.0f/s seconds=%.2f%n",
                    masters, tasks, queues, tasks / seconds, seconds);
        }
    }
}
