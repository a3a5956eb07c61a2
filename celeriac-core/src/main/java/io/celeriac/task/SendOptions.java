package io.celeriac.task;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Options of one send, Celery's {@code apply_async} keywords: countdown, eta, expires, queue, routing key,
 * priority, task id, extra headers, time limits, and whether and how to retry publishing while the broker is
 * unavailable ({@code retry}, {@code retry_policy}).
 *
 * <pre>{@code
 * app.applyAsync("orders.render_pdf", List.of(orderId), Map.of(),
 *     SendOptions.builder().countdown(Duration.ofSeconds(30)).queue("render").taskId("order-42-pdf").build());
 * }</pre>
 */
public final class SendOptions {
    private static final SendOptions NONE = builder().build();

    private final @Nullable Duration countdown;
    private final @Nullable Instant eta;
    private final @Nullable Duration expiresIn;
    private final @Nullable Instant expiresAt;
    private final @Nullable String queue;
    private final @Nullable String routingKey;
    private final @Nullable Integer priority;
    private final @Nullable String taskId;
    private final Map<String, Object> headers;
    private final @Nullable Duration timeLimit;
    private final @Nullable Duration softTimeLimit;
    private final @Nullable Boolean ignoreResult;
    private final @Nullable String shadow;
    private final @Nullable Boolean unique;
    private final @Nullable Boolean retry;
    private final @Nullable PublishRetryPolicy retryPolicy;

    private SendOptions(Builder b) {
        this.countdown = b.countdown;
        this.eta = b.eta;
        this.expiresIn = b.expiresIn;
        this.expiresAt = b.expiresAt;
        this.queue = b.queue;
        this.routingKey = b.routingKey;
        this.priority = b.priority;
        this.taskId = b.taskId;
        this.headers = Map.copyOf(b.headers);
        this.timeLimit = b.timeLimit;
        this.softTimeLimit = b.softTimeLimit;
        this.ignoreResult = b.ignoreResult;
        this.shadow = b.shadow;
        this.unique = b.unique;
        this.retry = b.retry;
        this.retryPolicy = b.retryPolicy;
    }

    public static SendOptions none() {
        return NONE;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Optional<Duration> countdown() { return Optional.ofNullable(countdown); }
    public Optional<Instant> eta() { return Optional.ofNullable(eta); }
    public Optional<Duration> expiresIn() { return Optional.ofNullable(expiresIn); }
    public Optional<Instant> expiresAt() { return Optional.ofNullable(expiresAt); }
    public Optional<String> queue() { return Optional.ofNullable(queue); }
    public Optional<String> routingKey() { return Optional.ofNullable(routingKey); }
    public Optional<Integer> priority() { return Optional.ofNullable(priority); }
    public Optional<String> taskId() { return Optional.ofNullable(taskId); }
    public Map<String, Object> headers() { return headers; }
    public Optional<Duration> timeLimit() { return Optional.ofNullable(timeLimit); }
    public Optional<Duration> softTimeLimit() { return Optional.ofNullable(softTimeLimit); }
    public Optional<Boolean> ignoreResult() { return Optional.ofNullable(ignoreResult); }
    public Optional<String> shadow() { return Optional.ofNullable(shadow); }
    public Optional<Boolean> unique() { return Optional.ofNullable(unique); }
    public Optional<Boolean> retry() { return Optional.ofNullable(retry); }
    public Optional<PublishRetryPolicy> retryPolicy() { return Optional.ofNullable(retryPolicy); }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.countdown = countdown;
        b.eta = eta;
        b.expiresIn = expiresIn;
        b.expiresAt = expiresAt;
        b.queue = queue;
        b.routingKey = routingKey;
        b.priority = priority;
        b.taskId = taskId;
        b.headers.putAll(headers);
        b.timeLimit = timeLimit;
        b.softTimeLimit = softTimeLimit;
        b.ignoreResult = ignoreResult;
        b.shadow = shadow;
        b.unique = unique;
        b.retry = retry;
        b.retryPolicy = retryPolicy;
        return b;
    }

    /**
     * These options, each one not set here taken from {@code under}: how a caller's options are laid over those a
     * task declares, or over an earlier {@code with(...)}. Countdown and eta go together, as do the two forms of
     * expires: options that set one of a pair take neither from {@code under}, so the result never holds both.
     * Headers are merged, these winning.
     */
    SendOptions orElse(SendOptions under) {
        if (under == NONE || this == under) {
            return this;
        }
        if (this == NONE) {
            return under;
        }
        Builder b = toBuilder();
        if (countdown == null && eta == null) {
            b.countdown = under.countdown;
            b.eta = under.eta;
        }
        if (expiresIn == null && expiresAt == null) {
            b.expiresIn = under.expiresIn;
            b.expiresAt = under.expiresAt;
        }
        b.queue = queue != null ? queue : under.queue;
        b.routingKey = routingKey != null ? routingKey : under.routingKey;
        b.priority = priority != null ? priority : under.priority;
        b.taskId = taskId != null ? taskId : under.taskId;
        b.headers.clear();
        b.headers.putAll(under.headers);
        b.headers.putAll(headers);
        b.timeLimit = timeLimit != null ? timeLimit : under.timeLimit;
        b.softTimeLimit = softTimeLimit != null ? softTimeLimit : under.softTimeLimit;
        b.ignoreResult = ignoreResult != null ? ignoreResult : under.ignoreResult;
        b.shadow = shadow != null ? shadow : under.shadow;
        b.unique = unique != null ? unique : under.unique;
        b.retry = retry != null ? retry : under.retry;
        b.retryPolicy = retryPolicy != null ? retryPolicy : under.retryPolicy;
        return b.build();
    }

    public static final class Builder {
        private @Nullable Duration countdown;
        private @Nullable Instant eta;
        private @Nullable Duration expiresIn;
        private @Nullable Instant expiresAt;
        private @Nullable String queue;
        private @Nullable String routingKey;
        private @Nullable Integer priority;
        private @Nullable String taskId;
        private final Map<String, Object> headers = new LinkedHashMap<>();
        private @Nullable Duration timeLimit;
        private @Nullable Duration softTimeLimit;
        private @Nullable Boolean ignoreResult;
        private @Nullable String shadow;
        private @Nullable Boolean unique;
        private @Nullable Boolean retry;
        private @Nullable PublishRetryPolicy retryPolicy;

        private Builder() {
        }

        /** Run no earlier than this long after sending (becomes an absolute {@code eta}, as in Celery). */
        public Builder countdown(Duration v) { this.countdown = v; return this; }
        public Builder eta(Instant v) { this.eta = v; return this; }
        /** Revoke without running if not started this long after sending. */
        public Builder expires(Duration v) { this.expiresIn = v; this.expiresAt = null; return this; }
        public Builder expires(Instant v) { this.expiresAt = v; this.expiresIn = null; return this; }
        public Builder queue(String v) { this.queue = v; return this; }
        public Builder routingKey(String v) { this.routingKey = v; return this; }
        public Builder priority(int v) {
            if (v < 0 || v > 9) {
                throw new IllegalArgumentException("priority must be 0-9, was " + v);
            }
            this.priority = v;
            return this;
        }
        /** A caller-chosen id, e.g. derived from a business key so a double submit is recognisable. */
        public Builder taskId(String v) { this.taskId = v; return this; }
        public Builder header(String name, Object value) { this.headers.put(name, value); return this; }
        public Builder headers(Map<String, ?> v) { this.headers.putAll(v); return this; }
        public Builder timeLimit(Duration v) { this.timeLimit = v; return this; }
        public Builder softTimeLimit(Duration v) { this.softTimeLimit = v; return this; }
        public Builder ignoreResult(boolean v) { this.ignoreResult = v; return this; }
        public Builder shadow(String v) { this.shadow = v; return this; }
        /** Drop this send if a task with the same id is pending or running (overrides the task's option). */
        public Builder unique(boolean v) { this.unique = v; return this; }
        /**
         * Retry publishing if the broker is unavailable (Celery's {@code retry}; default {@code task_publish_retry},
         * true). Off, a send that the broker did not take throws at once.
         */
        public Builder retry(boolean v) { this.retry = v; return this; }
        /**
         * How to retry (Celery's {@code retry_policy}): the keys this policy sets replace those of
         * {@code task_publish_retry_policy} for this send, the others are kept.
         */
        public Builder retryPolicy(PublishRetryPolicy v) { this.retryPolicy = v; return this; }

        public SendOptions build() {
            if (countdown != null && eta != null) {
                throw new IllegalArgumentException("give either countdown or eta, not both");
            }
            return new SendOptions(this);
        }
    }
}
