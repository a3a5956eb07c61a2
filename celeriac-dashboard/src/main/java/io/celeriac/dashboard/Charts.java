package io.celeriac.dashboard;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The numbers behind the charts: per-minute buckets over the last hour, computed from the task history on each
 * request (a scan of 100k records takes milliseconds), and queue lengths sampled over the same hour.
 */
final class Charts {
    static final int MINUTES = 60;
    private static final int TOP_TASKS = 8;
    private static final double QUEUE_WINDOW = 3600;

    private final Map<String, ArrayDeque<double[]>> queueSamples = new TreeMap<>();

    synchronized void sampleQueue(String queue, double now, long length) {
        ArrayDeque<double[]> d = queueSamples.computeIfAbsent(queue, q -> new ArrayDeque<>());
        d.addLast(new double[] {now, length});
        while (!d.isEmpty() && d.peekFirst()[0] < now - QUEUE_WINDOW) {
            d.pollFirst();
        }
    }

    synchronized Map<String, List<double[]>> queueSeries() {
        Map<String, List<double[]>> out = new TreeMap<>();
        queueSamples.forEach((q, d) -> out.put(q, new ArrayList<>(d)));
        return out;
    }

    /** Throughput per task, failure rate and runtime percentiles per minute; {@code task} narrows the last two. */
    Map<String, Object> compute(TaskHistory history, double now, @Nullable String task) {
        double end = Math.floor(now / 60) * 60 + 60;
        double start = end - MINUTES * 60;
        Map<String, long[]> done = new TreeMap<>();
        long[] ok = new long[MINUTES];
        long[] failed = new long[MINUTES];
        List<List<Double>> runtimes = new ArrayList<>();
        for (int i = 0; i < MINUTES; i++) {
            runtimes.add(new ArrayList<>());
        }
        history.scan(r -> {
            if (r.finished() == null || r.finished() < start || r.finished() >= end || r.name() == null) {
                return;
            }
            boolean success = r.state().equals("SUCCESS");
            boolean failure = r.state().equals("FAILURE");
            if (!success && !failure) {
                return;
            }
            int b = (int) ((r.finished() - start) / 60);
            done.computeIfAbsent(r.name(), n -> new long[MINUTES])[b]++;
            if (task != null && !task.isBlank() && !task.equals(r.name())) {
                return;
            }
            if (success) {
                ok[b]++;
                if (r.runtime() != null) {
                    runtimes.get(b).add(r.runtime());
                }
            } else {
                failed[b]++;
            }
        });
        List<Map.Entry<String, long[]>> top = new ArrayList<>(done.entrySet());
        top.sort(Comparator.comparingLong((Map.Entry<String, long[]> e) -> -Arrays.stream(e.getValue()).sum()));
        Map<String, long[]> throughput = new LinkedHashMap<>();
        top.stream().limit(TOP_TASKS).forEach(e -> throughput.put(e.getKey(), e.getValue()));
        @Nullable Double[] failureRate = new Double[MINUTES];
        @Nullable Double[] p50 = new Double[MINUTES];
        @Nullable Double[] p95 = new Double[MINUTES];
        @Nullable Double[] p99 = new Double[MINUTES];
        for (int i = 0; i < MINUTES; i++) {
            long n = ok[i] + failed[i];
            failureRate[i] = n == 0 ? null : 100.0 * failed[i] / n;
            List<Double> rt = runtimes.get(i);
            if (!rt.isEmpty()) {
                rt.sort(null);
                p50[i] = 1000 * percentile(rt, 0.50);
                p95[i] = 1000 * percentile(rt, 0.95);
                p99[i] = 1000 * percentile(rt, 0.99);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("start", start);
        out.put("step", 60);
        out.put("task", task);
        out.put("throughput", throughput);
        out.put("failureRate", failureRate);
        out.put("runtimeMs", Map.of("p50", p50, "p95", p95, "p99", p99));
        Map<String, Object> queues = new TreeMap<>();
        queueSeries().forEach((q, s) -> queues.put(q, s));
        out.put("queues", queues);
        return out;
    }

    /** Nearest-rank percentile of a sorted list. */
    static double percentile(List<Double> sorted, double p) {
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
    }
}
