package io.celeriac.task;

import io.celeriac.CeleriacException;

/** A manual retry without an exception after {@code maxRetries} retries: Celery's {@code MaxRetriesExceededError}. */
public class MaxRetriesExceededException extends CeleriacException {
    public MaxRetriesExceededException(String taskName, String id, int maxRetries) {
        super("Can't retry " + taskName + "[" + id + "] args/kwargs: max retries (" + maxRetries + ") exceeded");
    }
}
