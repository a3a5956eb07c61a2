package io.celeriac.worker;

import io.celeriac.broker.Broker;
import io.celeriac.broker.EventBus;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Emits Celery's monitoring events for a worker ({@code -E}), in Celery's format, so {@code celery events}, Flower
 * and our dashboard see Java workers as they see Python's: {@code worker-online}, a {@code worker-heartbeat} every
 * 2 s, {@code worker-offline}, and task events buffered and sent as one {@code task.multi} list (as Celery 5 does).
 */
final class EventDispatcher implements WorkerListener {
    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);
    /** Heartbeat period, Celery's {@code freq}. */
    static final double FREQ = 2.0;
    /**
     * Task events per {@code task.multi} message once they come faster than the 100 ms tick sends them (Celery sends
     * its buffer at 24; monitors take lists of any length).
     */
    static final int BATCH = 256;

    private final EventBus bus;
    private final String hostname;
    private final Clock clock;
    private final AtomicLong lamport = new AtomicLong();
    private final List<Map<String, Object>> buffer = new ArrayList<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "celeriac-events");
        t.setDaemon(true);
        return t;
    });
    private volatile @Nullable Worker worker;
    private static final long PID = ProcessHandle.current().pid();
    /**
     * Celery's utcoffset, worked out again with each heartbeat rather than for every event: at tens of thousands of
     * events a second, looking the zone's rules up each time was a visible share of the worker's CPU.
     */
    private volatile int utcoffset;

    public EventDispatcher(Broker broker, String hostname, Clock clock) {
        this.bus = broker.eventBus().orElseGet(() -> {
            log.warn("The broker ({}) carries no monitoring events: this worker sends none",
                    broker.getClass().getSimpleName());
            return new EventBus() {
                @Override
                public void publish(String routingKey, String hostname, Object body) {
                }

                @Override
                public AutoCloseable subscribe(java.util.function.Consumer<Map<String, Object>> listener) {
                    return () -> { };
                }
            };
        });
        this.hostname = hostname;
        this.clock = clock;
        this.utcoffset = computeUtcoffset();
    }

    @Override
    public void workerReady(Worker w) {
        this.worker = w;
        send("worker.online", workerEvent("worker-online"));
        scheduler.scheduleAtFixedRate(() -> {
                    utcoffset = computeUtcoffset();
                    send("worker.heartbeat", workerEvent("worker-heartbeat"));
                },
                (long) (FREQ * 1000), (long) (FREQ * 1000), TimeUnit.MILLISECONDS);
        // Task events are flushed often enough to look live, rarely enough to batch under load.
        scheduler.scheduleWithFixedDelay(this::flush, 100, 100, TimeUnit.MILLISECONDS);
    }

    @Override
    public void heartbeatRequested(Worker w) {
        if (worker != null && !scheduler.isShutdown()) {
            scheduler.execute(() -> send("worker.heartbeat", workerEvent("worker-heartbeat")));
        }
    }

    @Override
    public void workerStopped(Worker w) {
        scheduler.shutdownNow();
        flush();
        send("worker.offline", workerEvent("worker-offline"));
    }

    @Override
    public void taskReceived(TaskRequest r) {
        Map<String, Object> e = taskEvent("task-received", r);
        e.put("name", r.task());
        e.put("args", PythonRepr.args(r.args()));
        e.put("kwargs", PythonRepr.kwargs(r.kwargs()));
        e.put("root_id", r.rootId());
        e.put("parent_id", r.parentId());
        e.put("retries", r.retries());
        e.put("eta", r.eta() == null ? null : r.eta().toString());
        e.put("expires", r.expires() == null ? null : r.expires().toString());
        // Not in Celery's event; monitors that know it (the dashboard) use it to re-send to the same queue.
        e.put("routing_key", r.queue());
        buffer(e);
    }

    @Override
    public void taskStarted(TaskRequest r) {
        buffer(taskEvent("task-started", r));
    }

    @Override
    public void taskSucceeded(TaskRequest r, @Nullable Object result, Duration runtime) {
        Map<String, Object> e = taskEvent("task-succeeded", r);
        e.put("result", PythonRepr.value(result));
        e.put("runtime", runtime.toNanos() / 1e9);
        buffer(e);
    }

    @Override
    public void taskFailed(TaskRequest r, Throwable error, Duration runtime) {
        Map<String, Object> e = taskEvent("task-failed", r);
        e.put("exception", pythonStyle(error));
        e.put("traceback", TaskTracer.traceback(error));
        buffer(e);
    }

    @Override
    public void taskRetried(TaskRequest r, @Nullable Throwable reason, Duration countdown) {
        Map<String, Object> e = taskEvent("task-retried", r);
        e.put("exception", reason == null ? "Retry()" : pythonStyle(reason));
        e.put("traceback", reason == null ? null : TaskTracer.traceback(reason));
        buffer(e);
    }

    @Override
    public void taskRevoked(TaskRequest r, boolean terminated, boolean expired) {
        Map<String, Object> e = taskEvent("task-revoked", r);
        e.put("terminated", terminated);
        e.put("signum", terminated ? "SIGTERM" : null);
        e.put("expired", expired);
        buffer(e);
    }

    @Override
    public void taskRejected(String queue, @Nullable TaskRequest r, String reason) {
        if (r == null) {
            return; // not a task message: no id to report it under
        }
        Map<String, Object> e = base("task-rejected");
        e.put("uuid", r.id());
        e.put("requeue", false);
        e.put("timestamp", now());
        // Beyond Celery's event (uuid, requeue): a message no worker ran may never have had a task-received, and
        // monitors that know these fields (the dashboard) would otherwise show a nameless row.
        e.put("name", r.task());
        e.put("args", PythonRepr.args(r.args()));
        e.put("kwargs", PythonRepr.kwargs(r.kwargs()));
        e.put("root_id", r.rootId());
        e.put("parent_id", r.parentId());
        e.put("routing_key", queue);
        e.put("reason", reason);
        buffer(e);
    }

    private static String pythonStyle(Throwable e) {
        return e.getClass().getSimpleName() + "(" + (e.getMessage() == null ? "" : PythonRepr.value(e.getMessage()))
                + ")";
    }

    private Map<String, Object> base(String type) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("hostname", hostname);
        e.put("utcoffset", utcoffset);
        e.put("pid", PID);
        e.put("clock", 0L); // stamped when sent, see send()
        e.put("type", type);
        return e;
    }

    private Map<String, Object> taskEvent(String type, TaskRequest r) {
        Map<String, Object> e = base(type);
        e.remove("type");
        e.put("uuid", r.id());
        e.put("timestamp", now());
        e.put("type", type);
        return e;
    }

    private Map<String, Object> workerEvent(String type) {
        Map<String, Object> e = base(type);
        e.remove("type");
        Worker w = worker;
        e.put("freq", FREQ);
        e.put("active", w == null ? 0 : w.active().size());
        e.put("processed", w == null ? 0 : w.processedTotal());
        e.put("loadavg", loadavg());
        e.put("sw_ident", "celeriac");
        e.put("sw_ver", version());
        e.put("sw_sys", System.getProperty("os.name"));
        e.put("timestamp", now());
        e.put("type", type);
        return e;
    }

    private void buffer(Map<String, Object> e) {
        boolean full;
        synchronized (buffer) {
            buffer.add(e);
            full = buffer.size() == BATCH;
        }
        if (full && !scheduler.isShutdown()) {
            // Under load the batch is sent when full rather than at the next tick: at tens of thousands of tasks a
            // second, 100 ms of events made one message of several megabytes (encoded, then base64 in the envelope).
            try {
                scheduler.execute(this::flush);
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // stopping: workerStopped() flushes what is left
            }
        }
    }

    private void flush() {
        List<Map<String, Object>> batch;
        synchronized (buffer) {
            if (buffer.isEmpty()) {
                return;
            }
            batch = new ArrayList<>(buffer);
            buffer.clear();
        }
        send("task.multi", batch);
    }

    @SuppressWarnings("unchecked")
    private void send(String routingKey, Object body) {
        try {
            // The Lamport clock is stamped here, under one lock with the publish, so that events leave in clock
            // order: stamping when an event is built would let a pool thread's event overtake the consumer's.
            synchronized (lamport) {
                if (body instanceof List<?> batch) {
                    for (Object e : batch) {
                        ((Map<String, Object>) e).put("clock", lamport.incrementAndGet());
                    }
                } else {
                    ((Map<String, Object>) body).put("clock", lamport.incrementAndGet());
                }
                bus.publish(routingKey, hostname, body);
            }
        } catch (RuntimeException ex) {
            // Events are best effort, as in Celery: a monitoring outage must not stop the worker.
            log.debug("could not publish {} event: {}", routingKey, ex.toString());
        }
    }

    private double now() {
        return clock.millis() / 1000.0;
    }

    /** Celery's utcoffset: hours west of UTC (Python's {@code time.timezone // 3600}). */
    private int computeUtcoffset() {
        int seconds = ZoneId.systemDefault().getRules().getOffset(clock.instant()).getTotalSeconds();
        return -seconds / 3600;
    }

    private static List<Double> loadavg() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return List.of(Double.parseDouble(parts[0]), Double.parseDouble(parts[1]), Double.parseDouble(parts[2]));
        } catch (Exception e) {
            double l = Math.max(0, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            return List.of(l, l, l);
        }
    }

    private static String version() {
        String v = EventDispatcher.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }
}
