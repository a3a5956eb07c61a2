package io.celeriac.task;

import io.celeriac.CeleriacException;
import org.jspecify.annotations.Nullable;

/** {@code AsyncResult.get()} of a task that was revoked or expired before it ran. */
public class TaskRevokedException extends CeleriacException {
    public TaskRevokedException(String taskId, @Nullable String why) {
        super("Task " + taskId + " was revoked" + (why == null || why.isEmpty() ? "" : ": " + why));
    }
}
