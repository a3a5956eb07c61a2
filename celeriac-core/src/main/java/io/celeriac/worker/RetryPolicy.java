package io.celeriac.worker;

import io.celeriac.task.TaskOptions;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * When an auto-retried task runs again. With {@code retryBackoff} set, Celery's exponential backoff:
 * {@code delay = min(retryBackoffMax, base * 2^retries)}, then with {@code retryJitter} ("full jitter") a uniform
 * draw from {@code [0, delay]}; without backoff, {@code defaultRetryDelay}.
 */
final class RetryPolicy {
    private RetryPolicy() {
    }

    /**
     * @param retries retries already made (0 before the first retry)
     * @param random uniform draws in [0, 1)
     */
    public static Duration countdown(TaskOptions options, int retries, DoubleSupplier random) {
        if (options.retryBackoff().isEmpty()) {
            return options.defaultRetryDelay();
        }
        double base = options.retryBackoff().get().toNanos() / 1e9;
        double max = options.retryBackoffMax().toNanos() / 1e9;
        // 2^retries overflows to infinity for large retry counts; min() then caps it at max.
        double delay = Math.min(max, base * Math.pow(2, retries));
        if (options.retryJitter()) {
            delay = random.getAsDouble() * delay;
        }
        return Duration.ofNanos(Math.max(0, Math.round(delay * 1e9)));
    }

    /** True if {@code error} matches {@code autoretryFor} and not {@code dontAutoretryFor}. */
    public static boolean autoretries(TaskOptions options, Throwable error) {
        for (Class<? extends Throwable> no : options.dontAutoretryFor()) {
            if (no.isInstance(error)) {
                return false;
            }
        }
        for (Class<? extends Throwable> yes : options.autoretryFor()) {
            if (yes.isInstance(error)) {
                return true;
            }
        }
        return false;
    }
}
