package io.celeriac.task;

import io.celeriac.CeleriacException;

import java.time.Duration;

/** {@code AsyncResult.get(timeout)} gave up waiting. The task may still run; call get again or check state(). */
public class ResultTimeoutException extends CeleriacException {
    public ResultTimeoutException(String taskId, Duration timeout, String state) {
        super("Task " + taskId + " not ready after " + timeout.toMillis() + " ms (state " + state
                + "); is a worker consuming its queue?");
    }
}
