package io.celeriac.dashboard;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Prometheus metrics from what the dashboard watches: {@code celeriac_tasks_total{name,state}},
 * {@code celeriac_task_runtime_seconds} (a histogram), {@code celeriac_queue_length{queue}},
 * {@code celeriac_dead_letters} and {@code celeriac_workers_online}.
 */
final class DashboardMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<String, AtomicLong> queues = new ConcurrentHashMap<>();
    private final AtomicLong deadLetters = new AtomicLong();

    DashboardMetrics(Supplier<Number> workersOnline, Supplier<Number> droppedEvents) {
        Gauge.builder("celeriac.dashboard.events.dropped", () -> droppedEvents.get().doubleValue())
                .description("Events the dashboard dropped because it fell too far behind").register(registry);
        Gauge.builder("celeriac.workers.online", () -> workersOnline.get().doubleValue())
                .description("Workers whose heartbeat is current").register(registry);
        Gauge.builder("celeriac.dead.letters", deadLetters, AtomicLong::get)
                .description("Messages in the dead-letter queue").register(registry);
    }

    // Meters by key, so the per-event path is a map lookup rather than a builder and a registry lookup.
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    void task(@Nullable String name, String state) {
        String task = name == null ? "unknown" : name;
        counters.computeIfAbsent(task + '\0' + state, k -> Counter.builder("celeriac.tasks")
                .description("Task events by task name and resulting state")
                .tag("task", task).tag("state", state).register(registry)).increment();
    }

    void runtime(@Nullable String name, double seconds) {
        String task = name == null ? "unknown" : name;
        timers.computeIfAbsent(task, k -> Timer.builder("celeriac.task.runtime")
                .description("Task run time, from task-succeeded events")
                .tag("task", task).publishPercentileHistogram().register(registry))
                .record(Duration.ofNanos((long) (seconds * 1e9)));
    }

    void queueLength(String queue, long length) {
        queues.computeIfAbsent(queue, q -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder("celeriac.queue.length", v, AtomicLong::get).description("Messages waiting")
                    .tag("queue", q).register(registry);
            return v;
        }).set(length);
    }

    void deadLetters(long n) {
        deadLetters.set(n);
    }

    String scrape() {
        return registry.scrape();
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }
}
