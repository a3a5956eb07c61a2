package io.celeriac.task;

/**
 * The arguments of a message do not fit the task's parameters (wrong count, unknown keyword, wrong type). Such a
 * message can never succeed as sent: the worker fails the task and also dead-letters the message with this reason.
 */
public class ArgumentMismatchException extends TaskArgumentException {
    public ArgumentMismatchException(String message) {
        super(message);
    }

    public ArgumentMismatchException(String message, Throwable cause) {
        super(message, cause);
    }
}
