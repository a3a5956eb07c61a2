package io.celeriac.task;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Passed to a task method that declares it as its first parameter (Celery's {@code bind=True}): the request,
 * retries, progress updates and the soft time limit.
 *
 * <pre>{@code
 * @Task(name = "reports.export")
 * public String export(TaskContext ctx, long reportId) {
 *     for (int page = 0; page < pages; page++) {
 *         ctx.checkSoftTimeLimit();
 *         ctx.updateState("PROGRESS", Map.of("page", page));
 *     }
 * }
 * }</pre>
 */
public final class TaskContext {
    /** Stores a custom state for the running task; provided by the worker (or eager mode). */
    @FunctionalInterface
    public interface StateUpdater {
        void update(String state, Map<String, Object> meta);
    }

    private final TaskRequest request;
    private final TaskOptions options;
    private final StateUpdater stateUpdater;
    private final BooleanSupplier softLimitExceeded;

    public TaskContext(TaskRequest request, TaskOptions options, StateUpdater stateUpdater,
                       BooleanSupplier softLimitExceeded) {
        this.request = Objects.requireNonNull(request, "request");
        this.options = Objects.requireNonNull(options, "options");
        this.stateUpdater = Objects.requireNonNull(stateUpdater, "stateUpdater");
        this.softLimitExceeded = Objects.requireNonNull(softLimitExceeded, "softLimitExceeded");
    }

    public TaskRequest request() {
        return request;
    }

    public String id() {
        return request.id();
    }

    public int retries() {
        return request.retries();
    }

    public String hostname() {
        return request.hostname();
    }

    /** Retries with the task's default retry delay. */
    public RetryException retry() {
        return retry(null, null);
    }

    public RetryException retry(Duration countdown) {
        return retry(countdown, null);
    }

    public RetryException retry(Throwable exc) {
        return retry(null, exc);
    }

    /**
     * Asks for the task to run again after {@code countdown} (null = {@code defaultRetryDelay}). Always throws:
     * {@link RetryException} normally; once {@code maxRetries} is reached it rethrows {@code exc} (so the task fails
     * with its original exception) or, without one, {@link MaxRetriesExceededException}. The return type lets
     * callers write {@code throw ctx.retry(...)} so the compiler sees the method end.
     */
    public RetryException retry(@Nullable Duration countdown, @Nullable Throwable exc) {
        int max = options.maxRetries();
        if (max >= 0 && request.retries() >= max) {
            if (exc != null) {
                throw TaskContext.<RuntimeException>sneakyThrow(exc);
            }
            throw new MaxRetriesExceededException(request.task(), request.id(), max);
        }
        throw new RetryException(countdown == null ? options.defaultRetryDelay() : countdown, exc);
    }

    /** Stores a custom state (e.g. {@code PROGRESS}) with its meta; readers see it through {@code AsyncResult}. */
    public void updateState(String state, @Nullable Map<String, Object> meta) {
        stateUpdater.update(state, meta == null ? Map.of() : meta);
    }

    /**
     * Replaces this task with {@code replacement} (Celery's {@code self.replace}): the replacement is sent with this
     * task's id, so whoever waits on this task gets the replacement's result; this task's callbacks, errbacks, the
     * rest of its chain and its chord membership move to the replacement. A group is followed by Celery's
     * {@code celery.accumulate}, so the result is the list of the group's results. Always throws
     * {@link TaskReplacedException}, which ends the task: {@code throw ctx.replace(sig);} reads well.
     */
    public TaskReplacedException replace(Canvas replacement) {
        java.util.Objects.requireNonNull(replacement, "replacement");
        throw new TaskReplacedException(replacement);
    }

    /** True once the soft time limit has passed. */
    public boolean softTimeLimitExceeded() {
        return softLimitExceeded.getAsBoolean();
    }

    /** Throws {@link SoftTimeLimitExceeded} once the soft time limit has passed; call it in long loops. */
    public void checkSoftTimeLimit() {
        if (softLimitExceeded.getAsBoolean()) {
            throw new SoftTimeLimitExceeded("soft time limit exceeded for " + request.task() + "[" + request.id() + "]");
        }
    }

    /** Sleeps, but wakes with {@link SoftTimeLimitExceeded} when the soft time limit passes. */
    public void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            checkSoftTimeLimit();
            throw new io.celeriac.CeleriacException("task " + request.id() + " interrupted", e);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneakyThrow(Throwable t) throws T {
        throw (T) t;
    }
}
