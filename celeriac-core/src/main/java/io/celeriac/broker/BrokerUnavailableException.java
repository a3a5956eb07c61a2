package io.celeriac.broker;

import io.celeriac.CeleriacException;

/** The broker could not be reached or did not confirm an operation; a send that throws this was not queued. */
public class BrokerUnavailableException extends CeleriacException {
    public BrokerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public BrokerUnavailableException(String message) {
        super(message);
    }
}
