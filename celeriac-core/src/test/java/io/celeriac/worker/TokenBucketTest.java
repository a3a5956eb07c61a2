package io.celeriac.worker;

import io.celeriac.task.RateLimit;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The rate limiter on a clock the test moves: exact spacing, no bursts. */
class TokenBucketTest {
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void twentyPerSecondIsOneTaskEveryFiftyMilliseconds() {
        TokenBucket b = new TokenBucket(RateLimit.parse("20/s"), 0);
        assertThat(b.tryTake(0)).isZero();
        assertThat(b.tryTake(0)).isEqualTo(50 * MS);
        assertThat(b.tryTake(30 * MS)).isEqualTo(20 * MS);
        assertThat(b.tryTake(50 * MS)).isZero();
        // Six tasks: the sixth token is there 250 ms after the first, not before.
        long now = 50 * MS;
        int taken = 2;
        while (taken < 6) {
            long wait = b.tryTake(now);
            if (wait == 0) {
                taken++;
            } else {
                now += wait;
            }
        }
        assertThat(now).isEqualTo(250 * MS);
    }

    @Test
    void idleTimeBuysOneTokenNotABurst() {
        TokenBucket b = new TokenBucket(RateLimit.parse("10/s"), 0);
        assertThat(b.tryTake(0)).isZero();
        long later = TimeUnit.SECONDS.toNanos(5);
        assertThat(b.tryTake(later)).isZero();
        assertThat(b.tryTake(later)).isEqualTo(100 * MS);
    }
}
