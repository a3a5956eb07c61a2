package io.celeriac.task;

import io.celeriac.CeleriacException;

/** A message or call names a task this process does not know. */
public class TaskNotRegisteredException extends CeleriacException {
    public TaskNotRegisteredException(String name) {
        super("Task '" + name + "' is not registered here: register its class (or scan its package with -A) "
                + "on the worker that serves its queue");
    }
}
