package io.celeriac.task;

import io.celeriac.CeleriacException;
import org.jspecify.annotations.Nullable;

/**
 * {@code AsyncResult.get()} of a task that failed: carries the remote exception's type, message and traceback (the
 * task may have run in another process or in Python).
 */
public class TaskFailedException extends CeleriacException {
    private final String taskId;
    private final @Nullable String excType;
    private final @Nullable String excModule;
    private final @Nullable String excMessage;
    private final @Nullable String remoteTraceback;

    public TaskFailedException(String taskId, @Nullable String excType, @Nullable String excModule,
                               @Nullable String excMessage, @Nullable String remoteTraceback) {
        super("Task " + taskId + " failed: " + excType + ": " + excMessage);
        this.taskId = taskId;
        this.excType = excType;
        this.excModule = excModule;
        this.excMessage = excMessage;
        this.remoteTraceback = remoteTraceback;
    }

    public String taskId() { return taskId; }
    /** The exception's class name ({@code ValueError}, {@code IllegalStateException}). */
    public @Nullable String excType() { return excType; }
    /** Its module or package ({@code builtins}, {@code java.lang}). */
    public @Nullable String excModule() { return excModule; }
    public @Nullable String excMessage() { return excMessage; }
    public @Nullable String remoteTraceback() { return remoteTraceback; }
}
