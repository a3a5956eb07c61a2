package io.celeriac.backend;

import io.celeriac.CeleriacException;

/**
 * The result backend could not be reached (connection refused or lost, pool exhausted, timed out): a condition that
 * passes, so the write may be tried again later. A backend that refuses a document for what it is (too long for a
 * column, not valid for the store) throws another {@link CeleriacException} instead, and retrying that would never
 * succeed. The worker retries the first kind until it goes through and handles the second document by document.
 */
public class ResultBackendUnavailableException extends CeleriacException {
    public ResultBackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public ResultBackendUnavailableException(String message) {
        super(message);
    }
}
