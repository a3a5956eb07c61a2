package io.celeriac.task;

import java.util.Optional;

/**
 * The task running on this thread, if any. Sends made from inside a task use it to fill {@code parent_id} and
 * {@code root_id}, as Celery does.
 */
public final class CurrentTask {
    private static final ThreadLocal<TaskRequest> CURRENT = new ThreadLocal<>();

    private CurrentTask() {
    }

    public static Optional<TaskRequest> get() {
        return Optional.ofNullable(CURRENT.get());
    }

    /** Set by the worker around a task's execution; returns the previous value to restore. */
    public static TaskRequest set(TaskRequest request) {
        TaskRequest previous = CURRENT.get();
        if (request == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(request);
        }
        return previous;
    }
}
