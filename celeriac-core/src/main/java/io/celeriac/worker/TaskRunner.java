package io.celeriac.worker;

import io.celeriac.broker.Delivery;
import io.celeriac.task.CurrentTask;
import io.celeriac.task.TaskContext;
import io.celeriac.task.TaskRequest;
import io.celeriac.backend.TaskState;
import io.celeriac.task.TimeLimitExceeded;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Runs a request on a pool thread: checks revoked and expired once more, acks early, runs the task through the
 * {@link TaskTracer}, and enforces its time limits on thread {@code celeriac-timer} (soft: interrupt; hard: fail it,
 * free its slot and abandon the thread). Also terminates running tasks (revoke with terminate, cold shutdown) and
 * decides when the worker recycles itself ({@code max_tasks_per_child}, {@code max_memory_per_child}).
 */
final class TaskRunner {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private final Clock clock;
    private final String hostname;
    private final LongSupplier pid;
    private final Slots slots;
    private final ScheduledExecutorService timer;
    private final TaskTracer tracer;
    private final Outcomes outcomes;
    private final Dispatcher dispatcher;
    private final RevokedIds revoked;
    private final List<WorkerListener> listeners;
    private final AtomicBoolean draining;
    private final int maxTasksPerChild;
    private final long maxMemoryPerChildKb;
    /** Started when the worker recycles itself: a warm shutdown on another thread. */
    private final Runnable recycle;
    private final Map<String, Request> active = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> processed = new ConcurrentHashMap<>();
    private final AtomicLong processedTotal = new AtomicLong();
    private final AtomicInteger abandoned = new AtomicInteger();

    TaskRunner(Clock clock, String hostname, LongSupplier pid, Slots slots, ScheduledExecutorService timer,
               TaskTracer tracer, Outcomes outcomes, Dispatcher dispatcher, RevokedIds revoked,
               List<WorkerListener> listeners, AtomicBoolean draining, int maxTasksPerChild,
               long maxMemoryPerChildKb, Runnable recycle) {
        this.clock = clock;
        this.hostname = hostname;
        this.pid = pid;
        this.slots = slots;
        this.timer = timer;
        this.tracer = tracer;
        this.outcomes = outcomes;
        this.dispatcher = dispatcher;
        this.revoked = revoked;
        this.listeners = listeners;
        this.draining = draining;
        this.maxTasksPerChild = maxTasksPerChild;
        this.maxMemoryPerChildKb = maxMemoryPerChildKb;
        this.recycle = recycle;
    }

    Collection<Request> activeRequests() {
        return active.values();
    }

    boolean isActive(String id) {
        return active.containsKey(id);
    }

    int activeCount() {
        return active.size();
    }

    Map<String, Long> processed() {
        Map<String, Long> out = new java.util.TreeMap<>();
        processed.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    long processedTotal() {
        return processedTotal.get();
    }

    int abandoned() {
        return abandoned.get();
    }

    /**
     * A pool thread's job. Task code cannot get here (the tracer catches whatever it throws); this catches a fault of
     * the worker itself, so that it fails the one task and never keeps a pool slot or a prefetch permit.
     */
    void run(Request r) {
        try {
            execute(r);
        } catch (Throwable t) {
            log.error("Internal error running {}: {}", r.label(), t.toString(), t);
            if (r.state.compareAndSet(Request.RUNNING, Request.DONE)
                    || r.state.compareAndSet(Request.RESERVED, Request.DONE)) {
                active.remove(r.message.id());
                dispatcher.unreserve(r.message.id());
                slots.release();
            }
            if (!r.finished) {
                outcomes.internalError(r, t);
            }
            if (t instanceof VirtualMachineError e) {
                throw e;
            }
        }
    }

    private void execute(Request r) {
        if (!r.state.compareAndSet(Request.RESERVED, Request.RUNNING)) {
            slots.release();
            return;
        }
        String id = r.message.id();
        dispatcher.unreserve(id);
        Instant now = clock.instant();
        // Checked again right before the task starts, as Celery does (Request.execute_using_pool): a request can wait
        // a long time for a slot or a rate-limit token after it was received.
        boolean expired = r.message.expires() != null && now.isAfter(r.message.expires());
        if (expired || revoked.contains(id)) {
            r.state.set(Request.DONE);
            slots.release();
            if (expired) {
                log.info("Discarding expired task: {} (expired {})", r.label(), r.message.expires());
                revoked.add(id);
            } else {
                log.info("Discarding revoked task: {}", r.label());
            }
            outcomes.finishRevoked(r, false, expired, true);
            return;
        }
        active.put(id, r);
        r.thread = Thread.currentThread();
        r.startNanos = System.nanoTime();
        r.startedAt = now;
        if (!r.acksLate) {
            outcomes.ackNow(r);
        }
        if (r.trackStarted && !r.ignoreResult) {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("pid", pid.getAsLong());
            meta.put("hostname", hostname);
            outcomes.progress(r, TaskState.STARTED, meta);
        }
        for (WorkerListener l : listeners) {
            l.taskStarted(r.request);
        }
        scheduleLimits(r);
        TaskContext ctx = new TaskContext(r.request, r.definition.options(),
                (state, meta) -> outcomes.progress(r, state, meta),
                () -> r.softExceeded);
        TaskRequest previous = CurrentTask.set(r.request);
        Outcome outcome;
        try {
            outcome = tracer.run(r.definition, ctx);
        } finally {
            r.children = CurrentTask.children();
            CurrentTask.set(previous);
            if (r.softTimer != null) {
                r.softTimer.cancel(false);
            }
            if (r.hardTimer != null) {
                r.hardTimer.cancel(false);
            }
        }
        if (!r.state.compareAndSet(Request.RUNNING, Request.DONE)) {
            // The hard time limit or a terminate already finished this request and gave its slot away.
            abandoned.decrementAndGet();
            Thread.interrupted();
            log.warn("Abandoned thread of {} returned after {} s; its outcome is discarded", r.label(),
                    String.format("%.3f", (System.nanoTime() - r.startNanos) / 1e9));
            return;
        }
        Thread.interrupted(); // clear an interrupt from a soft limit so the pool thread starts clean
        active.remove(id);
        Duration runtime = Duration.ofNanos(System.nanoTime() - r.startNanos);
        countProcessed(r);
        // Decided before the slot is released, so no further task starts once the limit is reached; the shutdown
        // starts after this task's result is queued for writing.
        String recycleWhy = recycleReason();
        slots.release();
        outcomes.finish(r, outcome, runtime);
        if (recycleWhy != null) {
            log.warn("{}: {}; shutting down so the supervisor starts a fresh worker", hostname, recycleWhy);
            new Thread(recycle, "celeriac-recycle").start();
        }
    }

    /**
     * {@code --max-tasks-per-child} / {@code --max-memory-per-child}: a JVM cannot give one pool thread's memory
     * back, so the whole worker stops consuming and exits cleanly (warm shutdown) for its supervisor (systemd,
     * Kubernetes) to start a fresh process.
     */
    private @Nullable String recycleReason() {
        String why = null;
        if (maxTasksPerChild > 0 && processedTotal.get() >= maxTasksPerChild) {
            why = "max tasks per child (" + maxTasksPerChild + ") reached";
        } else if (maxMemoryPerChildKb > 0) {
            Runtime rt = Runtime.getRuntime();
            long usedKb = (rt.totalMemory() - rt.freeMemory()) / 1024;
            if (usedKb > maxMemoryPerChildKb) {
                why = "heap in use " + usedKb + " KiB exceeds max memory per child (" + maxMemoryPerChildKb + " KiB)";
            }
        }
        // Only the first task past the limit starts the shutdown; draining makes the consumer and dispatcher idle.
        if (why != null && draining.compareAndSet(false, true)) {
            return why;
        }
        return null;
    }

    private void countProcessed(Request r) {
        processed.computeIfAbsent(r.message.task(), k -> new LongAdder()).increment();
        processedTotal.incrementAndGet();
    }

    private void scheduleLimits(Request r) {
        if (r.softLimit != null && (r.hardLimit == null || r.softLimit.compareTo(r.hardLimit) < 0)) {
            r.softTimer = timer.schedule(() -> {
                if (r.state.get() == Request.RUNNING) {
                    log.warn("Soft time limit ({} s) exceeded for {}", seconds(r.softLimit), r.label());
                    r.softExceeded = true;
                    r.thread.interrupt();
                }
            }, r.softLimit.toNanos(), TimeUnit.NANOSECONDS);
        }
        if (r.hardLimit != null) {
            r.hardTimer = timer.schedule(() -> hardLimit(r), r.hardLimit.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void hardLimit(Request r) {
        if (!r.state.compareAndSet(Request.RUNNING, Request.DONE)) {
            return;
        }
        Thread t = r.thread;
        abandoned.incrementAndGet();
        active.remove(r.message.id());
        log.error("Hard time limit ({} s) exceeded for {}: the task is marked FAILURE and its slot given to a new "
                + "thread. A JVM thread cannot be killed: {} was interrupted and abandoned, and keeps running until "
                + "the task code returns ({} abandoned now).", seconds(r.hardLimit), r.label(),
                t == null ? "its thread" : t.getName(), abandoned.get());
        if (t != null) {
            t.interrupt();
        }
        countProcessed(r);
        slots.release();
        dispatcher.slotsFreed();
        TimeLimitExceeded e = new TimeLimitExceeded("TimeLimitExceeded(" + seconds(r.hardLimit) + ")");
        outcomes.finish(r, new Outcome.Failure(e), Duration.ofNanos(System.nanoTime() - r.startNanos));
    }

    private static String seconds(Duration d) {
        double s = d.toNanos() / 1e9;
        return s == Math.rint(s) ? Long.toString((long) s) : Double.toString(s);
    }

    /** Revoke with terminate: interrupts the running task, frees its slot and stores it as REVOKED. */
    void terminate(String id) {
        Request running = active.get(id);
        if (running != null && running.state.compareAndSet(Request.RUNNING, Request.DONE)) {
            active.remove(id);
            abandoned.incrementAndGet();
            Thread t = running.thread;
            log.warn("Terminating {}: its thread {} is interrupted (a JVM thread cannot be killed)",
                    running.label(), t == null ? "?" : t.getName());
            if (t != null) {
                t.interrupt();
            }
            countProcessed(running);
            slots.release();
            dispatcher.slotsFreed();
            outcomes.finishRevoked(running, true, false, running.acksLate);
        }
    }

    /**
     * Cold shutdown: interrupts and abandons every running task; returns the acks-late messages among them, to go
     * back to their queues (acks-early ones were acked as they started).
     */
    List<Delivery> abandonAll() {
        List<Delivery> back = new ArrayList<>();
        for (Request r : new ArrayList<>(active.values())) {
            if (r.state.compareAndSet(Request.RUNNING, Request.DONE)) {
                active.remove(r.message.id());
                abandoned.incrementAndGet();
                if (r.thread != null) {
                    r.thread.interrupt();
                }
                if (r.acksLate) {
                    back.add(r.delivery);
                }
            }
        }
        return back;
    }
}
