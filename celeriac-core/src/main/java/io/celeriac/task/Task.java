package io.celeriac.task;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.jspecify.annotations.Nullable;

/**
 * Marks a method as a task, Celery's {@code @app.task}. The method may take a {@link TaskContext} first (Celery's
 * {@code bind=True}); its other parameters and its return value travel as JSON. {@link Arg} gives a parameter a
 * keyword name or a default for callers that leave it out. Every option mirrors the Celery task option of the same
 * name; an option left at its default falls back to the worker/app configuration.
 *
 * <pre>{@code
 * @Task(name = "orders.send_invoice_email", queue = "email", autoretryFor = SmtpException.class,
 *       retryBackoff = 2, maxRetries = 5)
 * public void sendInvoice(long orderId) { ... }
 * }</pre>
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Task {
    /** Registered name; defaults to {@code <fully.qualified.Class>.<method>}. */
    String name() default "";

    /** Queue the task is sent to unless the caller or a route says otherwise. */
    String queue() default "";

    /** Retries allowed before the task fails; -1 = unlimited. Celery's {@code max_retries} (default 3). */
    int maxRetries() default 3;

    /** Seconds before a manual retry without a countdown runs again ({@code default_retry_delay}, 180). */
    double defaultRetryDelay() default 180;

    /** Exceptions (and their subclasses) that make the worker retry the task ({@code autoretry_for}). */
    Class<? extends Throwable>[] autoretryFor() default {};

    /** Exceptions that are never auto-retried even if they match {@link #autoretryFor()}. */
    Class<? extends Throwable>[] dontAutoretryFor() default {};

    /**
     * Exponential backoff base in seconds for auto-retries ({@code retry_backoff}); 0 = off (use
     * {@link #defaultRetryDelay()}), 1 = Celery's {@code True}. Delay = min(backoffMax, base * 2^retries).
     */
    double retryBackoff() default 0;

    /** Cap of the backoff delay in seconds ({@code retry_backoff_max}, 600). */
    double retryBackoffMax() default 600;

    /** Full jitter: the delay is drawn uniformly from [0, delay] ({@code retry_jitter}, on). */
    boolean retryJitter() default true;

    /** Hard time limit in seconds; unset (-1) = {@code task_time_limit}. */
    double timeLimit() default -1;

    /** Soft time limit in seconds; unset (-1) = {@code task_soft_time_limit}. */
    double softTimeLimit() default -1;

    /** Acknowledge after the task ran instead of before ({@code acks_late}); DEFAULT = {@code task_acks_late}. */
    Toggle acksLate() default Toggle.DEFAULT;

    /** Do not store the result ({@code ignore_result}); DEFAULT = {@code task_ignore_result}. */
    Toggle ignoreResult() default Toggle.DEFAULT;

    /** Store STARTED when the task begins ({@code track_started}); DEFAULT = {@code task_track_started}. */
    Toggle trackStarted() default Toggle.DEFAULT;

    /** Per-worker rate limit: {@code "10/s"}, {@code "100/m"}, {@code "1000/h"}; empty = none. */
    String rateLimit() default "";

    /** Seconds after sending when the task expires and is revoked without running; -1 = never. */
    double expires() default -1;

    /** Default message priority 0-9 (on Redis, lower is served first); -1 = none. */
    int priority() default -1;

    /**
     * Drop a send whose task id is already pending or running (see docs/tasks.md, "Unique tasks"). Meant with
     * caller-chosen ids such as {@code order-42-send_invoice}: a double submit sends one task.
     */
    boolean unique() default false;

    /** A task option that may be on, off, or left to the configuration. */
    enum Toggle {
        DEFAULT, ON, OFF;

        public @Nullable Boolean value() {
            return this == DEFAULT ? null : this == ON;
        }
    }
}
