package io.celeriac.task;

import io.celeriac.CeleriacException;

/** {@code AsyncResult.get()} of a task that was revoked or expired before it ran. */
public class TaskRevokedException extends CeleriacException {
    public TaskRevokedException(String taskId, String why) {
        super("Task " + taskId + " was revoked" + (why == null || why.isEmpty() ? "" : ": " + why));
    }
}
