package io.celeriac.broker;

import io.celeriac.CeleriacException;

/**
 * The broker could not be reached or did not confirm an operation. A send that throws this was either not queued or,
 * when the connection broke after the command was written, queued without the answer arriving: its outcome is
 * unknown. docs/tasks.md says how a caller-chosen task id and the unique option make a resend harmless.
 */
public class BrokerUnavailableException extends CeleriacException {
    public BrokerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public BrokerUnavailableException(String message) {
        super(message);
    }
}
