package io.celeriac;

/** Root of every exception Celeriac throws. Unchecked: callers handle what they can act on. */
public class CeleriacException extends RuntimeException {
    public CeleriacException(String message) {
        super(message);
    }

    public CeleriacException(String message, Throwable cause) {
        super(message, cause);
    }
}
