package io.celeriac.task;

import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The task running on this thread, if any. Sends made from inside a task use it to fill {@code parent_id} and
 * {@code root_id}, as Celery does.
 */
public final class CurrentTask {
    private static final ThreadLocal<TaskRequest> CURRENT = new ThreadLocal<>();
    /** Results of what the running task sent, as Celery's result tuples: its {@code children}. */
    private static final ThreadLocal<java.util.List<Object>> CHILDREN = new ThreadLocal<>();

    private CurrentTask() {
    }

    public static Optional<TaskRequest> get() {
        return Optional.ofNullable(CURRENT.get());
    }

    /** Set by the worker around a task's execution; returns the previous value to restore. */
    public static @Nullable TaskRequest set(@Nullable TaskRequest request) {
        TaskRequest previous = CURRENT.get();
        if (request == null) {
            CURRENT.remove();
            CHILDREN.remove();
        } else {
            CURRENT.set(request);
            CHILDREN.set(new java.util.ArrayList<>());
        }
        return previous;
    }

    /**
     * Notes a result the running task sent (Celery's {@code add_trail}), in Celery's tuple form
     * {@code [[id, parent], children-or-null]}; stored as the task's {@code children}. No task running: ignored.
     */
    public static void addChild(Object resultTuple) {
        java.util.List<Object> l = CHILDREN.get();
        if (l != null) {
            l.add(resultTuple);
        }
    }

    /** What the running task sent so far, in order. */
    public static java.util.List<Object> children() {
        java.util.List<Object> l = CHILDREN.get();
        return l == null ? java.util.List.of() : java.util.List.copyOf(l);
    }
}
