package io.celeriac.task;

import io.celeriac.CeleriacException;

/**
 * Thrown by {@link TaskContext#replace}: the task ends here and the worker sends its replacement in its place
 * (Celery's {@code Ignore('Replaced by new task')}). Let it propagate; catching it cancels the replacement.
 */
public final class TaskReplacedException extends CeleriacException {
    private final transient Canvas replacement;

    public TaskReplacedException(Canvas replacement) {
        super("Replaced by new task: " + replacement);
        this.replacement = replacement;
    }

    public Canvas replacement() {
        return replacement;
    }
}
