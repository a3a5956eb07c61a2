package io.celeriac.task;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * How a send retries when the broker does not take the message: Celery's {@code retry_policy} (the
 * {@code task_publish_retry_policy} setting, or {@code apply_async(retry_policy=...)}), with kombu's meaning
 * ({@code kombu.utils.functional.retry_over_time}):
 *
 * <ul>
 *   <li>{@code max_retries}: retries after the first attempt; once they are used up, the send throws. -1 (Celery's
 *       {@code None}) retries for ever.
 *   <li>{@code interval_start}: the wait before the first retry, in seconds.
 *   <li>{@code interval_step}: added to the wait for each further retry.
 *   <li>{@code interval_max}: the wait stops growing once it would pass {@code interval_start + interval_max}
 *       (kombu's {@code fxrange(interval_start, interval_max + interval_start, interval_step, repeatlast=True)}).
 * </ul>
 *
 * <p>A policy built here may leave keys out: a send's policy is laid over the configured one key by key, as Celery
 * merges {@code retry_policy} into {@code task_publish_retry_policy}.
 *
 * <pre>{@code
 * SendOptions.builder().retryPolicy(PublishRetryPolicy.builder().maxRetries(20)
 *         .intervalStart(Duration.ofMillis(100)).intervalStep(Duration.ofMillis(100))
 *         .intervalMax(Duration.ofMillis(400)).build()).build();
 * }</pre>
 */
public final class PublishRetryPolicy {
    /**
     * Celery's {@code task_publish_retry_policy} default as its code has it ({@code celery/app/defaults.py}):
     * 3 retries, waiting 0, 0.2 and 0.4 s. (Celery's documentation gives {@code interval_max} as 0.2; the code, which
     * is what Celery does, has 1.)
     */
    public static final PublishRetryPolicy CELERY_DEFAULT = builder().maxRetries(3).intervalStart(Duration.ZERO)
            .intervalStep(Duration.ofMillis(200)).intervalMax(Duration.ofSeconds(1)).build();

    private final @Nullable Integer maxRetries;
    private final @Nullable Double intervalStart;
    private final @Nullable Double intervalStep;
    private final @Nullable Double intervalMax;

    private PublishRetryPolicy(@Nullable Integer maxRetries, @Nullable Double intervalStart,
                               @Nullable Double intervalStep, @Nullable Double intervalMax) {
        this.maxRetries = maxRetries;
        this.intervalStart = intervalStart;
        this.intervalStep = intervalStep;
        this.intervalMax = intervalMax;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads Celery's dict, as JSON ({@code {"max_retries": 5, "interval_step": 0.5}}) or as Python writes it
     * ({@code {'max_retries': None}}). Keys left out stay unset.
     */
    public static PublishRetryPolicy parse(Map<String, ?> policy) {
        Builder b = builder();
        for (Map.Entry<String, ?> e : policy.entrySet()) {
            Object v = e.getValue();
            switch (e.getKey()) {
                case "max_retries" -> b.maxRetries(v == null ? -1 : number(e.getKey(), v).intValue());
                case "interval_start" -> b.intervalStart(seconds(e.getKey(), v));
                case "interval_step" -> b.intervalStep(seconds(e.getKey(), v));
                case "interval_max" -> b.intervalMax(seconds(e.getKey(), v));
                default -> throw new IllegalArgumentException("unknown retry policy key '" + e.getKey()
                        + "'; known: max_retries, interval_start, interval_step, interval_max");
            }
        }
        return b.build();
    }

    private static Number number(String key, @Nullable Object v) {
        if (v instanceof Number n) {
            return n;
        }
        throw new IllegalArgumentException(key + " must be a number, was " + v);
    }

    private static Duration seconds(String key, @Nullable Object v) {
        return Duration.ofNanos(Math.round(number(key, v).doubleValue() * 1e9));
    }

    /** Retries after the first attempt; -1 for ever. Empty if this policy leaves it to the configured one. */
    public OptionalInt maxRetries() {
        return maxRetries == null ? OptionalInt.empty() : OptionalInt.of(maxRetries);
    }

    public Optional<Duration> intervalStart() { return duration(intervalStart); }
    public Optional<Duration> intervalStep() { return duration(intervalStep); }
    public Optional<Duration> intervalMax() { return duration(intervalMax); }

    private static Optional<Duration> duration(@Nullable Double seconds) {
        return seconds == null ? Optional.empty() : Optional.of(Duration.ofNanos(Math.round(seconds * 1e9)));
    }

    /** True if every key is set. */
    public boolean complete() {
        return maxRetries != null && intervalStart != null && intervalStep != null && intervalMax != null;
    }

    /** This policy, with the keys it leaves out taken from {@code base} (Celery's {@code dict(base, **this)}). */
    public PublishRetryPolicy orElse(PublishRetryPolicy base) {
        if (complete()) {
            return this;
        }
        return new PublishRetryPolicy(maxRetries != null ? maxRetries : base.maxRetries,
                intervalStart != null ? intervalStart : base.intervalStart,
                intervalStep != null ? intervalStep : base.intervalStep,
                intervalMax != null ? intervalMax : base.intervalMax);
    }

    /**
     * The waits before retry 1, 2, 3, ...: kombu's {@code fxrange(start, start + max, step, repeatlast=True)},
     * computed in the same floating-point steps so that the sequence is Celery's to the last digit. (Where
     * {@code start + max} is 0, kombu's loop treats the bound as absent and grows without limit; here the waits stay
     * 0, which is what such a policy asks for.)
     */
    public Iterator<Duration> intervals() {
        if (!complete()) {
            throw new IllegalStateException("incomplete retry policy " + this + ": lay it over a complete one first");
        }
        double start = intervalStart;
        double stop = intervalMax + intervalStart;
        double step = intervalStep;
        return new Iterator<>() {
            private double cur = start;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Duration next() {
                double wait;
                if (cur <= stop) {
                    wait = cur;
                    cur += step;
                } else {
                    wait = cur - step;
                }
                return Duration.ofNanos(Math.round(Math.max(0, wait) * 1e9));
            }
        };
    }

    /** The longest a send following this policy waits in all before it gives up (for ever: empty). */
    public Optional<Duration> totalWait() {
        int max = maxRetries().orElseThrow(() -> new IllegalStateException("incomplete retry policy " + this));
        if (max < 0) {
            return Optional.empty();
        }
        Iterator<Duration> it = intervals();
        Duration total = Duration.ZERO;
        for (int i = 0; i < max; i++) {
            total = total.plus(it.next());
        }
        return Optional.of(total);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof PublishRetryPolicy p && Objects.equals(maxRetries, p.maxRetries)
                && Objects.equals(intervalStart, p.intervalStart) && Objects.equals(intervalStep, p.intervalStep)
                && Objects.equals(intervalMax, p.intervalMax);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxRetries, intervalStart, intervalStep, intervalMax);
    }

    /** Celery's dict: {@code {'max_retries': 3, 'interval_start': 0.0, 'interval_step': 0.2, 'interval_max': 1.0}}. */
    @Override
    public String toString() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (maxRetries != null) {
            m.put("max_retries", maxRetries < 0 ? "None" : maxRetries);
        }
        if (intervalStart != null) {
            m.put("interval_start", intervalStart);
        }
        if (intervalStep != null) {
            m.put("interval_step", intervalStep);
        }
        if (intervalMax != null) {
            m.put("interval_max", intervalMax);
        }
        StringBuilder s = new StringBuilder("{");
        m.forEach((k, v) -> s.append(s.length() > 1 ? ", " : "").append('\'').append(k).append("': ").append(v));
        return s.append('}').toString();
    }

    public static final class Builder {
        private @Nullable Integer maxRetries;
        private @Nullable Double intervalStart;
        private @Nullable Double intervalStep;
        private @Nullable Double intervalMax;

        private Builder() {
        }

        /** Retries after the first attempt; -1 retries for ever (Celery's {@code None}). */
        public Builder maxRetries(int v) {
            if (v < -1) {
                throw new IllegalArgumentException("max_retries must be -1 (for ever) or more, was " + v);
            }
            this.maxRetries = v;
            return this;
        }

        public Builder intervalStart(Duration v) { this.intervalStart = seconds("interval_start", v); return this; }
        public Builder intervalStep(Duration v) { this.intervalStep = seconds("interval_step", v); return this; }
        public Builder intervalMax(Duration v) { this.intervalMax = seconds("interval_max", v); return this; }

        private static double seconds(String key, Duration v) {
            if (v.isNegative()) {
                throw new IllegalArgumentException(key + " must not be negative, was " + v);
            }
            return v.toNanos() / 1e9;
        }

        public PublishRetryPolicy build() {
            return new PublishRetryPolicy(maxRetries, intervalStart, intervalStep, intervalMax);
        }
    }
}
