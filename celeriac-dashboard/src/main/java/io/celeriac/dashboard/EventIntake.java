package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;

/**
 * Takes the broker's Celery events in and folds them into the task history, the worker list and the metrics, then
 * tells open pages what changed. Events arrive on the broker's thread into a bounded inbox; {@link #drain()} (every
 * 100 ms) folds them in batches.
 */
final class EventIntake {
    private static final Logger log = LoggerFactory.getLogger(EventIntake.class);
    /** Events held while the dashboard catches up (a few hundred MB at most). */
    private static final int MAX_WAITING = 500_000;

    private final Celeriac app;
    private final TaskHistory history;
    private final WorkerRegistry workers;
    private final DashboardMetrics metrics;
    private final QueueSampling queues;
    private final LiveStream stream;
    private final DoubleSupplier now;
    private final ConcurrentLinkedQueue<Map<String, Object>> inbox = new ConcurrentLinkedQueue<>();
    /** Events waiting in {@link #inbox} (its size() is a walk of the queue). */
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    /** The listener of the subscription attempt in force; listeners of attempts that failed ignore events. */
    private final AtomicReference<Object> currentListener = new AtomicReference<>();
    private volatile @Nullable AutoCloseable subscription;

    EventIntake(Celeriac app, TaskHistory history, WorkerRegistry workers, DashboardMetrics metrics,
            QueueSampling queues, LiveStream stream, DoubleSupplier now) {
        this.app = app;
        this.history = history;
        this.workers = workers;
        this.metrics = metrics;
        this.queues = queues;
        this.stream = stream;
        this.now = now;
    }

    /**
     * Subscribes with a listener of this attempt's own. A broker may keep the listener of a subscription that
     * failed (RedisBroker registers it before it subscribes); such leftovers must not deliver every event again
     * once a later attempt succeeds, so each listener checks that it is the one in force.
     */
    void subscribe() {
        Object token = new Object();
        currentListener.set(token);
        subscription = app.broker().eventBus().orElseThrow(() -> new UnsupportedOperationException("the dashboard "
                + "needs a broker that carries Celery's events")).subscribe(e -> {
            if (currentListener.get() == token) {
                receive(e);
            }
        });
    }

    /** Ends the event subscription, if there is one. */
    void close() {
        try {
            if (subscription != null) {
                subscription.close();
            }
        } catch (Exception e) {
            log.debug("closing event subscription: {}", e.toString());
        }
    }

    /** Events dropped so far because the dashboard fell too far behind. */
    long dropped() {
        return dropped.get();
    }

    /**
     * Takes an event from the broker's thread. Bounded: if the dashboard falls this far behind a burst, it drops
     * events (and counts them) rather than the process.
     */
    private void receive(Map<String, Object> event) {
        if (waiting.incrementAndGet() > MAX_WAITING) {
            waiting.decrementAndGet();
            if (dropped.incrementAndGet() % 10_000 == 1) {
                log.warn("dashboard: {} events dropped so far: the event stream outruns the dashboard", dropped.get());
            }
            return;
        }
        inbox.add(event);
    }

    /** Folds queued events into the history, the worker list and the metrics, until none is waiting. */
    void drain() {
        while (drainBatch()) {
            // a burst: keep going without waiting for the next tick
        }
    }

    private boolean drainBatch() {
        List<Map<String, Object>> batch = new ArrayList<>();
        for (Map<String, Object> e; batch.size() < 10_000 && (e = inbox.poll()) != null; ) {
            batch.add(e);
        }
        waiting.addAndGet(-batch.size());
        if (batch.isEmpty()) {
            return false;
        }
        double now = this.now.getAsDouble();
        boolean workersChanged = false;
        List<Map<String, Object>> taskEvents = new ArrayList<>();
        for (Map<String, Object> e : batch) {
            if (workers.apply(e, now)) {
                workersChanged = true;
            } else {
                taskEvents.add(e);
            }
        }
        List<TaskRecord> changed = history.apply(taskEvents, now);
        Map<String, String> names = new HashMap<>();
        changed.forEach(r -> names.put(r.id(), r.name()));
        for (Map<String, Object> e : taskEvents) {
            Object id = e.get("uuid");
            String name = id == null ? null : names.get(String.valueOf(id));
            String type = String.valueOf(e.get("type"));
            metrics.task(name, type.startsWith("task-") ? type.substring(5) : type);
            if (type.equals("task-succeeded") && e.get("runtime") instanceof Number rt) {
                metrics.runtime(name, rt.doubleValue());
            }
        }
        for (TaskRecord r : changed) {
            if (r.queue() != null) {
                queues.add(r.queue());
            }
        }
        stream.push(changed, workersChanged);
        return batch.size() == 10_000;
    }
}
