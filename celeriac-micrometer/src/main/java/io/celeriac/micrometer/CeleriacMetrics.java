package io.celeriac.micrometer;

import io.celeriac.broker.Broker;
import io.celeriac.task.TaskRequest;
import io.celeriac.worker.Worker;
import io.celeriac.worker.WorkerListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Collection;
import org.jspecify.annotations.Nullable;

/**
 * Worker metrics through Micrometer; add it with {@code app.worker().listener(new CeleriacMetrics(registry))}.
 *
 * <ul>
 *   <li>{@code celeriac.tasks} counter, tags {@code task}, {@code state} (received, started, succeeded, failed,
 *       retried, revoked, rejected)</li>
 *   <li>{@code celeriac.task.runtime} timer with a percentile histogram, tags {@code task}, {@code state}
 *       (succeeded, failed)</li>
 *   <li>{@code celeriac.worker.active} and {@code celeriac.worker.concurrency} gauges, tag {@code worker}</li>
 *   <li>{@code celeriac.queue.length} gauge per queue, from {@link #bindQueues}</li>
 * </ul>
 */
public final class CeleriacMetrics implements WorkerListener {
    private final MeterRegistry registry;

    public CeleriacMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    private void count(@Nullable String task, String state) {
        Counter.builder("celeriac.tasks").description("Tasks by name and state").tag("task", task == null ? "?" : task)
                .tag("state", state).register(registry).increment();
    }

    private void time(String task, String state, Duration runtime) {
        Timer.builder("celeriac.task.runtime").description("Task run time").tag("task", task).tag("state", state)
                .publishPercentileHistogram().register(registry).record(runtime);
    }

    @Override
    public void workerReady(Worker worker) {
        Gauge.builder("celeriac.worker.active", worker, w -> w.active().size())
                .description("Tasks running now").tag("worker", worker.hostname()).register(registry);
        Gauge.builder("celeriac.worker.concurrency", worker, Worker::concurrency)
                .description("Pool size").tag("worker", worker.hostname()).register(registry);
    }

    @Override
    public void taskReceived(TaskRequest r) {
        count(r.task(), "received");
    }

    @Override
    public void taskStarted(TaskRequest r) {
        count(r.task(), "started");
    }

    @Override
    public void taskSucceeded(TaskRequest r, @Nullable Object result, Duration runtime) {
        count(r.task(), "succeeded");
        time(r.task(), "succeeded", runtime);
    }

    @Override
    public void taskFailed(TaskRequest r, Throwable error, Duration runtime) {
        count(r.task(), "failed");
        time(r.task(), "failed", runtime);
    }

    @Override
    public void taskRetried(TaskRequest r, @Nullable Throwable reason, Duration countdown) {
        count(r.task(), "retried");
    }

    @Override
    public void taskRevoked(TaskRequest r, boolean terminated, boolean expired) {
        count(r.task(), "revoked");
    }

    @Override
    public void taskRejected(String queue, @Nullable TaskRequest request, String reason) {
        count(request == null ? null : request.task(), "rejected");
    }

    /** Registers a {@code celeriac.queue.length} gauge per queue, read from the broker when scraped. */
    public static void bindQueues(MeterRegistry registry, Broker broker, Collection<String> queues) {
        for (String q : queues) {
            Gauge.builder("celeriac.queue.length", broker, b -> b.queueLength(q))
                    .description("Messages waiting in the queue").tag("queue", q).register(registry);
        }
    }
}
