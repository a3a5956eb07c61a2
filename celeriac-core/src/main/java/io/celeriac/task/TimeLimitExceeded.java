package io.celeriac.task;

import io.celeriac.CeleriacException;

/** The task ran past its hard time limit and was failed by the worker (its thread abandoned, see the docs). */
public class TimeLimitExceeded extends CeleriacException {
    public TimeLimitExceeded(String message) {
        super(message);
    }
}
