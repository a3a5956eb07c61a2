package io.celeriac.task;

import io.celeriac.CeleriacException;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Thrown (by {@link TaskContext#retry}) to ask the worker to run the task again later: Celery's {@code Retry}. The
 * worker sends a copy of the message with {@code retries + 1} and an ETA, stores state RETRY, and acks the original.
 */
public class RetryException extends CeleriacException {
    private final transient Duration countdown;
    private final @Nullable Throwable reason;

    public RetryException(Duration countdown, @Nullable Throwable reason) {
        super("Retry in " + formatSeconds(countdown) + (reason == null ? "" : ": " + reason), reason);
        this.countdown = countdown;
        this.reason = reason;
    }

    public Duration countdown() {
        return countdown;
    }

    /** The exception that caused the retry, or null for a plain retry. */
    public @Nullable Throwable reason() {
        return reason;
    }

    /** Seconds as Celery prints them: {@code 3s}, {@code 1.734s}. */
    public static String formatSeconds(Duration d) {
        double s = d.toNanos() / 1e9;
        if (s == Math.rint(s)) {
            return (long) s + "s";
        }
        String f = String.format(java.util.Locale.ROOT, "%.3f", s).replaceAll("0+$", "");
        return (f.endsWith(".") ? f + "0" : f) + "s";
    }
}
