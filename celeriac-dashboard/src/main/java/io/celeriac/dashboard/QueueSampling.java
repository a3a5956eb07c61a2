package io.celeriac.dashboard;

import io.celeriac.Celeriac;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.DoubleSupplier;

/**
 * The queues the dashboard knows of (the default one, those configured, and those tasks and workers name) and what
 * the broker says of them: {@link #sample()} (every 5 s) records their lengths and the dead-letter count for the
 * charts and the metrics; {@link #list()} describes them for the Queues page.
 */
final class QueueSampling {
    private final Celeriac app;
    private final TaskHistory history;
    private final WorkerRegistry workers;
    private final Charts charts;
    private final DashboardMetrics metrics;
    private final DoubleSupplier now;
    private final Set<String> queues = new CopyOnWriteArraySet<>();

    QueueSampling(Celeriac app, TaskHistory history, WorkerRegistry workers, Charts charts, DashboardMetrics metrics,
            DoubleSupplier now) {
        this.app = app;
        this.history = history;
        this.workers = workers;
        this.charts = charts;
        this.metrics = metrics;
        this.now = now;
    }

    /** Adds a queue to watch; known ones are ignored. */
    void add(String queue) {
        queues.add(queue);
    }

    void sample() {
        double now = this.now.getAsDouble();
        for (String q : queues) {
            long n = app.broker().queueLength(q);
            charts.sampleQueue(q, now, n);
            metrics.queueLength(q, n);
        }
        metrics.deadLetters(deadLetterCount());
    }

    /** How many dead letters the broker holds (0 when it keeps none that can be read back). */
    long deadLetterCount() {
        return app.broker().deadLetterQueue().map(q -> q.count()).orElse(0L);
    }

    /**
     * Queues with their waiting messages, consumers and per-minute rates. {@code consumerCount} is the broker's own
     * count of subscriptions (Python workers' included), null where the broker does not know it (Redis);
     * {@code consumers} names the online workers that said, in the last poll, that they read the queue.
     */
    List<Map<String, Object>> list() {
        double now = this.now.getAsDouble();
        Map<String, long[]> rates = new LinkedHashMap<>();
        history.scan(r -> {
            if (r.queue() == null) {
                return;
            }
            long[] v = rates.computeIfAbsent(r.queue(), q -> new long[2]);
            if (r.received() != null && r.received() >= now - 60) {
                v[0]++;
            }
            if (r.finished() != null && r.finished() >= now - 60) {
                v[1]++;
            }
        });
        List<WorkerInfo> ws = workers.list(this.now.getAsDouble());
        List<Map<String, Object>> out = new ArrayList<>();
        for (String q : new TreeSet<>(queues)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", q);
            m.put("waiting", app.broker().queueLength(q));
            OptionalInt consumers = app.broker().consumerCount(q);
            m.put("consumerCount", consumers.isPresent() ? consumers.getAsInt() : null);
            if (app.broker() instanceof io.celeriac.redis.RedisBroker redis && redis.isCluster()) {
                // Sharded: which slot and master hold the queue, for operators.
                m.put("location", redis.queueLocation(q));
            }
            m.put("consumers", ws.stream().filter(w -> w.online() && w.queues().contains(q)).map(WorkerInfo::hostname)
                    .toList());
            long[] r = rates.getOrDefault(q, new long[2]);
            m.put("receivedPerMinute", r[0]);
            m.put("finishedPerMinute", r[1]);
            out.add(m);
        }
        return out;
    }
}
