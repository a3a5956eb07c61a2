package io.celeriac.task;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A task's options, as declared by {@link Task} or built in code. A null / empty value means "not set here": the
 * worker then uses the configuration's default, as Celery does.
 */
public final class TaskOptions {
    private static final TaskOptions DEFAULTS = builder().build();

    private final @Nullable String queue;
    private final int maxRetries;
    private final Duration defaultRetryDelay;
    private final List<Class<? extends Throwable>> autoretryFor;
    private final List<Class<? extends Throwable>> dontAutoretryFor;
    private final @Nullable Duration retryBackoff;
    private final Duration retryBackoffMax;
    private final boolean retryJitter;
    private final @Nullable Duration timeLimit;
    private final @Nullable Duration softTimeLimit;
    private final @Nullable Boolean acksLate;
    private final @Nullable Boolean ignoreResult;
    private final @Nullable Boolean trackStarted;
    private final @Nullable RateLimit rateLimit;
    private final @Nullable Duration expires;
    private final @Nullable Integer priority;
    private final boolean unique;

    private TaskOptions(Builder b) {
        this.queue = b.queue;
        this.maxRetries = b.maxRetries;
        this.defaultRetryDelay = b.defaultRetryDelay;
        this.autoretryFor = List.copyOf(b.autoretryFor);
        this.dontAutoretryFor = List.copyOf(b.dontAutoretryFor);
        this.retryBackoff = b.retryBackoff;
        this.retryBackoffMax = b.retryBackoffMax;
        this.retryJitter = b.retryJitter;
        this.timeLimit = b.timeLimit;
        this.softTimeLimit = b.softTimeLimit;
        this.acksLate = b.acksLate;
        this.ignoreResult = b.ignoreResult;
        this.trackStarted = b.trackStarted;
        this.rateLimit = b.rateLimit;
        this.expires = b.expires;
        this.priority = b.priority;
        this.unique = b.unique;
    }

    public static TaskOptions defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads the options of a {@link Task} annotation. */
    public static TaskOptions from(Task t) {
        Builder b = builder()
                .queue(t.queue().isEmpty() ? null : t.queue())
                .maxRetries(t.maxRetries())
                .defaultRetryDelay(seconds(t.defaultRetryDelay()))
                .autoretryFor(List.of(t.autoretryFor()))
                .dontAutoretryFor(List.of(t.dontAutoretryFor()))
                .retryBackoff(t.retryBackoff() > 0 ? seconds(t.retryBackoff()) : null)
                .retryBackoffMax(seconds(t.retryBackoffMax()))
                .retryJitter(t.retryJitter())
                .timeLimit(t.timeLimit() >= 0 ? seconds(t.timeLimit()) : null)
                .softTimeLimit(t.softTimeLimit() >= 0 ? seconds(t.softTimeLimit()) : null)
                .acksLate(t.acksLate().value())
                .ignoreResult(t.ignoreResult().value())
                .trackStarted(t.trackStarted().value())
                .rateLimit(t.rateLimit().isEmpty() ? null : RateLimit.parse(t.rateLimit()))
                .expires(t.expires() >= 0 ? seconds(t.expires()) : null)
                .priority(t.priority() >= 0 ? t.priority() : null)
                .unique(t.unique());
        return b.build();
    }

    static Duration seconds(double s) {
        return Duration.ofNanos(Math.round(s * 1_000_000_000L));
    }

    public Optional<String> queue() { return Optional.ofNullable(queue); }
    /** -1 = unlimited. */
    public int maxRetries() { return maxRetries; }
    public Duration defaultRetryDelay() { return defaultRetryDelay; }
    public List<Class<? extends Throwable>> autoretryFor() { return autoretryFor; }
    public List<Class<? extends Throwable>> dontAutoretryFor() { return dontAutoretryFor; }
    /** Backoff base; empty = no exponential backoff. */
    public Optional<Duration> retryBackoff() { return Optional.ofNullable(retryBackoff); }
    public Duration retryBackoffMax() { return retryBackoffMax; }
    public boolean retryJitter() { return retryJitter; }
    public Optional<Duration> timeLimit() { return Optional.ofNullable(timeLimit); }
    public Optional<Duration> softTimeLimit() { return Optional.ofNullable(softTimeLimit); }
    public Optional<Boolean> acksLate() { return Optional.ofNullable(acksLate); }
    public Optional<Boolean> ignoreResult() { return Optional.ofNullable(ignoreResult); }
    public Optional<Boolean> trackStarted() { return Optional.ofNullable(trackStarted); }
    public Optional<RateLimit> rateLimit() { return Optional.ofNullable(rateLimit); }
    public Optional<Duration> expires() { return Optional.ofNullable(expires); }
    public Optional<Integer> priority() { return Optional.ofNullable(priority); }
    /** Drop sends of an id that is already pending or running. */
    public boolean unique() { return unique; }

    public Builder toBuilder() {
        return builder().queue(queue).maxRetries(maxRetries).defaultRetryDelay(defaultRetryDelay)
                .autoretryFor(autoretryFor).dontAutoretryFor(dontAutoretryFor).retryBackoff(retryBackoff)
                .retryBackoffMax(retryBackoffMax).retryJitter(retryJitter).timeLimit(timeLimit)
                .softTimeLimit(softTimeLimit).acksLate(acksLate).ignoreResult(ignoreResult)
                .trackStarted(trackStarted).rateLimit(rateLimit).expires(expires).priority(priority).unique(unique);
    }

    /** Builder with Celery's defaults: 3 retries, 180 s retry delay, backoff cap 600 s, jitter on. */
    public static final class Builder {
        private @Nullable String queue;
        private int maxRetries = 3;
        private Duration defaultRetryDelay = Duration.ofSeconds(180);
        private List<Class<? extends Throwable>> autoretryFor = List.of();
        private List<Class<? extends Throwable>> dontAutoretryFor = List.of();
        private @Nullable Duration retryBackoff;
        private Duration retryBackoffMax = Duration.ofSeconds(600);
        private boolean retryJitter = true;
        private @Nullable Duration timeLimit;
        private @Nullable Duration softTimeLimit;
        private @Nullable Boolean acksLate;
        private @Nullable Boolean ignoreResult;
        private @Nullable Boolean trackStarted;
        private @Nullable RateLimit rateLimit;
        private @Nullable Duration expires;
        private @Nullable Integer priority;
        private boolean unique;

        private Builder() {
        }

        public Builder queue(@Nullable String v) { this.queue = v; return this; }
        public Builder maxRetries(int v) { this.maxRetries = v; return this; }
        public Builder defaultRetryDelay(Duration v) { this.defaultRetryDelay = v; return this; }
        public Builder autoretryFor(List<Class<? extends Throwable>> v) { this.autoretryFor = v; return this; }
        @SafeVarargs
        public final Builder autoretryFor(Class<? extends Throwable>... v) { this.autoretryFor = List.of(v); return this; }
        public Builder dontAutoretryFor(List<Class<? extends Throwable>> v) { this.dontAutoretryFor = v; return this; }
        public Builder retryBackoff(@Nullable Duration base) { this.retryBackoff = base; return this; }
        public Builder retryBackoffMax(Duration v) { this.retryBackoffMax = v; return this; }
        public Builder retryJitter(boolean v) { this.retryJitter = v; return this; }
        public Builder timeLimit(@Nullable Duration v) { this.timeLimit = v; return this; }
        public Builder softTimeLimit(@Nullable Duration v) { this.softTimeLimit = v; return this; }
        public Builder acksLate(@Nullable Boolean v) { this.acksLate = v; return this; }
        public Builder ignoreResult(@Nullable Boolean v) { this.ignoreResult = v; return this; }
        public Builder trackStarted(@Nullable Boolean v) { this.trackStarted = v; return this; }
        public Builder rateLimit(@Nullable RateLimit v) { this.rateLimit = v; return this; }
        public Builder rateLimit(@Nullable String v) { this.rateLimit = v == null ? null : RateLimit.parse(v); return this; }
        public Builder expires(@Nullable Duration v) { this.expires = v; return this; }
        public Builder priority(@Nullable Integer v) { this.priority = v; return this; }
        public Builder unique(boolean v) { this.unique = v; return this; }

        public TaskOptions build() {
            if (priority != null && (priority < 0 || priority > 9)) {
                throw new IllegalArgumentException("priority must be 0-9, was " + priority);
            }
            return new TaskOptions(this);
        }
    }
}
