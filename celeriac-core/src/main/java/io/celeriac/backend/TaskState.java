package io.celeriac.backend;

import java.util.Set;

/**
 * Celery's task states. States are strings on the wire, and tasks may report custom ones through
 * {@link TaskContext#updateState(String, java.util.Map)}, so this is a set of constants rather than an enum.
 */
public final class TaskState {
    /** Unknown to the backend: not sent yet, waiting in a queue, or its result expired. Never stored. */
    public static final String PENDING = "PENDING";
    public static final String RECEIVED = "RECEIVED";
    /** Stored only for tasks with {@code trackStarted}. */
    public static final String STARTED = "STARTED";
    public static final String RETRY = "RETRY";
    public static final String SUCCESS = "SUCCESS";
    public static final String FAILURE = "FAILURE";
    public static final String REVOKED = "REVOKED";
    public static final String REJECTED = "REJECTED";

    /** States after which nothing more happens to a task id. */
    public static final Set<String> READY = Set.of(SUCCESS, FAILURE, REVOKED);
    /** States that mean the task did not succeed. */
    public static final Set<String> EXCEPTION = Set.of(RETRY, FAILURE, REVOKED);

    private TaskState() {
    }

    public static boolean isReady(String state) {
        return READY.contains(state);
    }
}
