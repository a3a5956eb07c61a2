package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.DeadLetter;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.PythonLiteral;
import io.celeriac.task.SendOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.DoubleSupplier;

/**
 * What an operator can do from the dashboard: retry, discard and revoke tasks; rate limits, pool resize and shutdown
 * of workers (the same broadcasts {@code celeriac control} sends); purge queues; requeue and discard dead letters;
 * run a schedule entry now.
 */
final class OperatorActions {
    private static final Logger log = LoggerFactory.getLogger(OperatorActions.class);

    private final Celeriac app;
    private final TaskHistory history;
    private final WorkerRegistry workers;
    private final @Nullable ScheduleStore schedules;
    private final DoubleSupplier now;

    OperatorActions(Celeriac app, TaskHistory history, WorkerRegistry workers, @Nullable ScheduleStore schedules,
            DoubleSupplier now) {
        this.app = app;
        this.history = history;
        this.workers = workers;
        this.schedules = schedules;
        this.now = now;
    }

    /**
     * Sends a copy of a finished task (same name, arguments and queue; a new id) and links the two in the history.
     *
     * @return the new task's id
     */
    String retry(String taskId) {
        TaskRecord r = history.get(taskId).orElseThrow(() -> new IllegalArgumentException("no task " + taskId));
        if (r.name() == null) {
            throw new IllegalArgumentException("task " + taskId + " has no name yet: it was never received");
        }
        List<Object> args = PythonLiteral.parseArgs(r.args());
        Map<String, Object> kwargs = PythonLiteral.parseKwargs(r.kwargs());
        SendOptions.Builder o = SendOptions.builder();
        String queue = r.queue() != null ? r.queue() : soleQueueOf(r.worker());
        if (queue != null) {
            o.queue(queue);
        }
        String newId = app.applyAsync(r.name(), args, kwargs, o.build()).id();
        history.put(r.withRetriedAs(newId));
        log.info("dashboard: retried {} as {}", taskId, newId);
        return newId;
    }

    /**
     * The queue a task came from when its events don't say (Python Celery's don't): the one queue its worker
     * consumes, if it consumes just one; otherwise null, and the task's own routing decides.
     */
    private @Nullable String soleQueueOf(@Nullable String hostname) {
        return workers.list(now.getAsDouble()).stream()
                .filter(w -> w.hostname().equals(hostname) && w.queues().size() == 1)
                .map(w -> w.queues().get(0)).findFirst().orElse(null);
    }

    /** Retries every failed task matching {@code q} that was not retried yet; returns how many. */
    int retryAll(TaskQuery q) {
        List<String> ids = new ArrayList<>();
        TaskQuery failed = new TaskQuery(Set.of("FAILURE"), q.name(), q.search(), q.worker(), 0, 500);
        history.scan(r -> {
            if (r.state().equals("FAILURE") && r.retriedAs() == null && failed.matches(r)) {
                ids.add(r.id());
            }
        });
        int n = 0;
        for (String id : ids) {
            try {
                retry(id);
                n++;
            } catch (IllegalArgumentException e) {
                log.warn("dashboard: cannot retry {}: {}", id, e.getMessage());
            }
        }
        return n;
    }

    /** Drops failed tasks matching {@code q} from the history (they stay in the result backend); returns how many. */
    int discardFailed(TaskQuery q) {
        List<String> ids = new ArrayList<>();
        TaskQuery failed = new TaskQuery(Set.of("FAILURE"), q.name(), q.search(), q.worker(), 0, 500);
        history.scan(r -> {
            if (failed.matches(r)) {
                ids.add(r.id());
            }
        });
        return history.remove(ids);
    }

    void revoke(String taskId, boolean terminate) {
        app.revoke(taskId, terminate);
    }

    /** Celery's {@code rate_limit} control: {@code rate} like {@code 10/m}, or empty to lift it. */
    void rateLimit(String task, @Nullable String rate, List<String> destination) {
        Objects.requireNonNull(task, "task");
        app.controlBus("setting a rate limit").broadcast(new ControlMessage("rate_limit",
                Map.of("task_name", task, "rate_limit", rate == null || rate.isBlank() ? "0" : rate),
                destination, null, null));
    }

    /** Grows ({@code delta > 0}) or shrinks a worker's pool. */
    void resizePool(String hostname, int delta) {
        if (delta == 0) {
            return;
        }
        app.controlBus("resizing a pool").broadcast(new ControlMessage(delta > 0 ? "pool_grow" : "pool_shrink",
                Map.of("n", Math.abs(delta)), List.of(hostname), null, null));
    }

    /** Asks one worker to shut down warmly. */
    void shutdownWorker(String hostname) {
        app.controlBus("shutting a worker down").broadcast(new ControlMessage("shutdown", Map.of(), List.of(hostname),
                null, null));
    }

    long purge(String queue) {
        return app.broker().purge(queue);
    }

    boolean requeueDeadLetter(String id) {
        return app.broker().deadLetterQueue().map(q -> q.requeue(id)).orElse(false);
    }

    boolean discardDeadLetter(String id) {
        return app.broker().deadLetterQueue().map(q -> q.discard(id)).orElse(false);
    }

    int requeueAllDeadLetters() {
        int n = 0;
        for (DeadLetter d : app.broker().deadLetterQueue().map(q -> q.list(100_000)).orElse(List.<DeadLetter>of())) {
            if (requeueDeadLetter(d.id())) {
                n++;
            }
        }
        return n;
    }

    /** The schedule store, for changes to it; without one, an {@link IllegalStateException} (409). */
    ScheduleStore requireSchedules() {
        if (schedules == null) {
            throw new IllegalStateException("no schedule store configured");
        }
        return schedules;
    }

    /** Sends a schedule entry's task now, outside its schedule; returns the task id. */
    String runScheduleNow(String name) {
        ScheduleEntry e = requireSchedules().entry(name)
                .orElseThrow(() -> new IllegalArgumentException("no schedule " + name));
        SendOptions.Builder o = SendOptions.builder();
        if (e.queue() != null) {
            o.queue(e.queue());
        }
        if (e.priority() != null) {
            o.priority(e.priority());
        }
        return app.applyAsync(e.task(), e.args(), e.kwargs(), o.build()).id();
    }
}
