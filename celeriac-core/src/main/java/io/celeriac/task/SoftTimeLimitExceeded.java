package io.celeriac.task;

import io.celeriac.CeleriacException;

/**
 * The task ran past its soft time limit. The worker interrupts the task's thread; blocking calls then fail, and
 * {@link TaskContext#checkSoftTimeLimit()} and {@link TaskContext#sleep} throw this exception so the task can clean up.
 * If the task lets an exception escape after the soft limit passed, it fails with this exception.
 */
public class SoftTimeLimitExceeded extends CeleriacException {
    public SoftTimeLimitExceeded(String message) {
        super(message);
    }
}
