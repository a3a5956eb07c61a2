package io.celeriac.worker;

import io.celeriac.task.TaskOptions;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class RetryPolicyProperties {

    @Property(tries = 300)
    void jitteredDelayStaysWithinZeroAndTheCappedExponential(
            @ForAll @DoubleRange(min = 0.1, max = 10) double base,
            @ForAll @DoubleRange(min = 1, max = 900) double max,
            @ForAll @IntRange(min = 0, max = 40) int retries,
            @ForAll long seed) {
        TaskOptions o = TaskOptions.builder().retryBackoff(seconds(base)).retryBackoffMax(seconds(max))
                .retryJitter(true).build();
        double bound = Math.min(max, base * Math.pow(2, retries));
        Random random = new Random(seed);
        double sum = 0;
        int draws = 2000;
        for (int i = 0; i < draws; i++) {
            double d = RetryPolicy.countdown(o, retries, random::nextDouble).toNanos() / 1e9;
            assertThat(d).isBetween(0.0, bound + 1e-6);
            sum += d;
        }
        // Full jitter is uniform on [0, bound]: the mean of many draws sits near bound / 2.
        assertThat(sum / draws).isBetween(bound * 0.4, bound * 0.6);
    }

    @Property(tries = 200)
    void withoutJitterTheDelayIsExactlyMinOfCapAndBaseTimesTwoToTheRetries(
            @ForAll @DoubleRange(min = 0.1, max = 10) double base,
            @ForAll @DoubleRange(min = 1, max = 900) double max,
            @ForAll @IntRange(min = 0, max = 2000) int retries) {
        TaskOptions o = TaskOptions.builder().retryBackoff(seconds(base)).retryBackoffMax(seconds(max))
                .retryJitter(false).build();
        double expected = Math.min(max, base * Math.pow(2, retries));
        double d = RetryPolicy.countdown(o, retries, () -> 0.5).toNanos() / 1e9;
        assertThat(d).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-6));
    }

    @Property(tries = 50)
    void withoutBackoffTheDefaultRetryDelayIsUsed(@ForAll @IntRange(min = 0, max = 100) int retries) {
        TaskOptions o = TaskOptions.builder().defaultRetryDelay(Duration.ofSeconds(180)).build();
        assertThat(RetryPolicy.countdown(o, retries, () -> 0.3)).isEqualTo(Duration.ofSeconds(180));
    }

    private static Duration seconds(double s) {
        return Duration.ofNanos(Math.round(s * 1e9));
    }
}
