package io.celeriac.task;

import io.celeriac.CeleriacException;

/** Arguments that cannot travel as JSON, or that do not fit the task's parameters. */
public class TaskArgumentException extends CeleriacException {
    public TaskArgumentException(String message) {
        super(message);
    }

    public TaskArgumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
