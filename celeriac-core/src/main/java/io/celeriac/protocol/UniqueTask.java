package io.celeriac.protocol;

import org.jspecify.annotations.Nullable;

/**
 * How a unique task travels: the sender marks the message with {@link #HEADER} and holds {@link #KEY_PREFIX} + id on
 * the broker; the worker releases that key when the task is done. Kept here, beside the message format, so the app
 * and the worker share the names without depending on each other.
 */
public final class UniqueTask {
    /** Broker key that holds a unique task's id while it is pending or running. */
    public static final String KEY_PREFIX = "celeriac.unique:";
    /** Header marking a unique task, so the worker releases its key when the task is done. */
    public static final String HEADER = "celeriac_unique";

    private UniqueTask() {
    }

    /** The broker key of a unique task, or null when the message is not one. */
    public static @Nullable String keyOf(TaskMessage m) {
        return Boolean.TRUE.equals(m.extraHeaders().get(HEADER)) ? KEY_PREFIX + m.id() : null;
    }
}
