package io.celeriac.worker;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** How one run of a task ended. */
public sealed interface Outcome {
    /** Returned normally; {@code value} is already a JSON value. */
    record Success(@Nullable Object value) implements Outcome {
    }

    /** Asked to run again after {@code countdown}; {@code reason} may be null. */
    record Retry(Duration countdown, @Nullable Throwable reason) implements Outcome {
    }

    /** Failed with {@code error} (retries exhausted, not retryable, or a time limit). */
    record Failure(Throwable error) implements Outcome {
    }

    /** Replaced by {@code replacement} ({@code TaskContext.replace}): nothing stored, the replacement sent. */
    record Replaced(io.celeriac.task.Canvas replacement) implements Outcome {
    }

    /** The message cannot run as sent (arguments do not fit): failed and dead-lettered. */
    record Rejected(Throwable error) implements Outcome {
    }
}
