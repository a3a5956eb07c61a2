package io.celeriac.dashboard;

import io.celeriac.CeleriacException;

/**
 * The task history's store cannot be reached just now (its database is down or restarting, or aborted the write for
 * a concurrent one). The dashboard keeps what it could not save for its next flush, and API calls that needed the
 * store answer {@code 503}; repeating the call later is safe.
 */
public class HistoryStoreUnavailableException extends CeleriacException {
    public HistoryStoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
