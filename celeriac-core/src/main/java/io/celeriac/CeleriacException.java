package io.celeriac;

import org.jspecify.annotations.Nullable;

/** Root of every exception Celeriac throws. Unchecked: callers handle what they can act on. */
public class CeleriacException extends RuntimeException {
    public CeleriacException(String message) {
        super(message);
    }

    public CeleriacException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
