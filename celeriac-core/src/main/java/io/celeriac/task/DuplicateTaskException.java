package io.celeriac.task;

import io.celeriac.CeleriacException;

/** Two methods claim the same task name; fails registration at start-up rather than at the first message. */
public class DuplicateTaskException extends CeleriacException {
    public DuplicateTaskException(String name, String first, String second) {
        super("Task name '" + name + "' is defined twice: by " + first + " and by " + second
                + ". Give one of them another name with @Task(name = ...)");
    }
}
