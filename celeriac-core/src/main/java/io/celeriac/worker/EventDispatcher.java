package io.celeriac.worker;

import io.celeriac.broker.Broker;
import io.celeriac.broker.EventBus;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.protocol.TaskEventsJson;
import io.celeriac.protocol.TaskEventsJson.Event;
import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
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
import java.util.function.Supplier;

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
     * its buffer at 24; monitors take lists of any length). Small enough that writing a batch (some 20 kB of JSON) is
     * a short burst on the events thread: with 256, events on, the drain with Celery's defaults on 2 cores was
     * a fifth slower (medians of alternated JVMs 27.1-32.6k against 32.8-39.7k tasks/s with 64).
     */
    static final int BATCH = 64;

    private final EventBus bus;
    private final String hostname;
    private final Clock clock;
    private final AtomicLong lamport = new AtomicLong();
    private final TaskEventsJson json;
    private final List<Supplier<Event>> buffer = new ArrayList<>();
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
                public void publishJson(String routingKey, String hostname, byte[] json) {
                }

                @Override
                public AutoCloseable subscribe(java.util.function.Consumer<Map<String, Object>> listener) {
                    return () -> { };
                }
            };
        });
        this.hostname = hostname;
        this.clock = clock;
        this.json = new TaskEventsJson(new MessageCodec(), hostname, PID);
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

    // Task events are buffered as builders, made into events and written to JSON on the events thread when the batch
    // is sent: with Celery's defaults the consumer thread is the serial part of a drain, and building task-received
    // there (Python reprs of the arguments) cost it a tenth of its time. What a builder reads is immutable (the
    // request) or worked out before it is buffered (a result's repr, which must show the value the task returned).

    @Override
    public void taskReceived(TaskRequest r) {
        long at = clock.millis();
        buffer(() -> new Event("task-received", r.id(), at,
                "name", r.task(),
                "args", PythonRepr.args(r.args()),
                "kwargs", PythonRepr.kwargs(r.kwargs()),
                "root_id", r.rootId(),
                "parent_id", r.parentId(),
                "retries", r.retries(),
                "eta", r.eta() == null ? null : r.eta().toString(),
                "expires", r.expires() == null ? null : r.expires().toString(),
                // Not in Celery's event; monitors that know it (the dashboard) use it to re-send to the same queue.
                "routing_key", r.queue()));
    }

    @Override
    public void taskStarted(TaskRequest r) {
        long at = clock.millis();
        buffer(() -> new Event("task-started", r.id(), at));
    }

    @Override
    public void taskSucceeded(TaskRequest r, @Nullable Object result, Duration runtime) {
        long at = clock.millis();
        String repr = PythonRepr.value(result);
        // Seconds as an exact decimal of nanoseconds: the same double as nanos / 1e9 once read, without formatting one.
        buffer(() -> new Event("task-succeeded", r.id(), at, "result", repr, "runtime",
                BigDecimal.valueOf(runtime.toNanos(), 9)));
    }

    @Override
    public void taskFailed(TaskRequest r, Throwable error, Duration runtime) {
        long at = clock.millis();
        String exception = pythonStyle(error);
        String traceback = TaskTracer.traceback(error);
        buffer(() -> new Event("task-failed", r.id(), at, "exception", exception, "traceback", traceback));
    }

    @Override
    public void taskRetried(TaskRequest r, @Nullable Throwable reason, Duration countdown) {
        long at = clock.millis();
        String exception = reason == null ? "Retry()" : pythonStyle(reason);
        String traceback = reason == null ? null : TaskTracer.traceback(reason);
        buffer(() -> new Event("task-retried", r.id(), at, "exception", exception, "traceback", traceback));
    }

    @Override
    public void taskRevoked(TaskRequest r, boolean terminated, boolean expired) {
        long at = clock.millis();
        buffer(() -> new Event("task-revoked", r.id(), at, "terminated", terminated,
                "signum", terminated ? "SIGTERM" : null, "expired", expired));
    }

    @Override
    public void taskRejected(String queue, @Nullable TaskRequest r, String reason) {
        if (r == null) {
            return; // not a task message: no id to report it under
        }
        long at = clock.millis();
        buffer(() -> new Event("task-rejected", r.id(), at,
                "requeue", false,
                // Beyond Celery's event (uuid, requeue): a message no worker ran may never have had a task-received,
                // and monitors that know these fields (the dashboard) would otherwise show a nameless row.
                "name", r.task(),
                "args", PythonRepr.args(r.args()),
                "kwargs", PythonRepr.kwargs(r.kwargs()),
                "root_id", r.rootId(),
                "parent_id", r.parentId(),
                "routing_key", queue,
                "reason", reason));
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

    private void buffer(Supplier<Event> e) {
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
        List<Supplier<Event>> pending;
        synchronized (buffer) {
            if (buffer.isEmpty()) {
                return;
            }
            pending = new ArrayList<>(buffer);
            buffer.clear();
        }
        List<Event> batch = new ArrayList<>(pending.size());
        for (Supplier<Event> event : pending) {
            try {
                batch.add(event.get());
            } catch (RuntimeException ex) {
                // One event that cannot be built (an argument whose toString throws) must not cost the batch, nor
                // the periodic flush, which a scheduled executor cancels after an exception.
                log.debug("dropping a task event that could not be built: {}", ex.toString());
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        try {
            // Stamped and written under the clock's lock, as send() does, so that batches leave in clock order.
            synchronized (lamport) {
                bus.publishJson("task.multi", hostname, json.write(batch, utcoffset, lamport::incrementAndGet));
            }
        } catch (RuntimeException ex) {
            // Events are best effort, as in Celery: a monitoring outage must not stop the worker.
            log.debug("could not publish task events: {}", ex.toString());
        }
    }

    private void send(String routingKey, Map<String, Object> body) {
        try {
            // The Lamport clock is stamped here, under one lock with the publish, so that events leave in clock
            // order: stamping when an event is built would let a pool thread's event overtake the consumer's.
            synchronized (lamport) {
                body.put("clock", lamport.incrementAndGet());
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
