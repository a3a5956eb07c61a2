package io.celeriac.task;

import io.celeriac.CeleriacException;

/**
 * {@code AsyncResult.get()} of a task that failed: carries the remote exception's type, message and traceback (the
 * task may have run in another process or in Python).
 */
public class TaskFailedException extends CeleriacException {
    private final String taskId;
    private final String excType;
    private final String excModule;
    private final String excMessage;
    private final String remoteTraceback;

    public TaskFailedException(String taskId, String excType, String excModule, String excMessage,
                               String remoteTraceback) {
        super("Task " + taskId + " failed: " + excType + ": " + excMessage);
        this.taskId = taskId;
        this.excType = excType;
        this.excModule = excModule;
        this.excMessage = excMessage;
        this.remoteTraceback = remoteTraceback;
    }

    public String taskId() { return taskId; }
    /** The exception's class name ({@code ValueError}, {@code IllegalStateException}). */
    public String excType() { return excType; }
    /** Its module or package ({@code builtins}, {@code java.lang}). */
    public String excModule() { return excModule; }
    public String excMessage() { return excMessage; }
    public String remoteTraceback() { return remoteTraceback; }
}
