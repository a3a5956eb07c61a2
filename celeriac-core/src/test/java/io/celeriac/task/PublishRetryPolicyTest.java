package io.celeriac.task;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The waits between publish retries are kombu's, to the millisecond (checked against kombu's fxrange). */
class PublishRetryPolicyTest {

    private static List<Long> firstWaitsMillis(PublishRetryPolicy p, int n) {
        List<Long> out = new ArrayList<>();
        Iterator<Duration> it = p.intervals();
        for (int i = 0; i < n; i++) {
            out.add(it.next().toMillis());
        }
        return out;
    }

    private static PublishRetryPolicy policy(int maxRetries, double start, double step, double max) {
        return PublishRetryPolicy.parse(Map.of("max_retries", maxRetries, "interval_start", start,
                "interval_step", step, "interval_max", max));
    }

    @Test
    void celerysDefaultIsThreeRetriesWaitingNothingThenAFifthThenTwoFifthsOfASecond() {
        PublishRetryPolicy d = PublishRetryPolicy.CELERY_DEFAULT;
        assertThat(d.maxRetries()).hasValue(3);
        // list(islice(fxrange(0, 1 + 0, 0.2, repeatlast=True), 8))
        assertThat(firstWaitsMillis(d, 8)).containsExactly(0L, 200L, 400L, 600L, 800L, 1000L, 1000L, 1000L);
        assertThat(d.totalWait()).contains(Duration.ofMillis(600));
        assertThat(d).hasToString("{'max_retries': 3, 'interval_start': 0.0, 'interval_step': 0.2, "
                + "'interval_max': 1.0}");
    }

    @Test
    void theWaitStopsGrowingPastStartPlusMaxAsInKombu() {
        // fxrange(1, 3 + 1, 1, repeatlast=True): the cap is interval_start + interval_max, not interval_max.
        assertThat(firstWaitsMillis(policy(5, 1, 1, 3), 6)).containsExactly(1000L, 2000L, 3000L, 4000L, 4000L,
                4000L);
        // The documentation's interval_max of 0.2.
        assertThat(firstWaitsMillis(policy(3, 0, 0.2, 0.2), 4)).containsExactly(0L, 200L, 200L, 200L);
        assertThat(firstWaitsMillis(policy(20, 0.1, 0.1, 0.4), 7)).containsExactly(100L, 200L, 300L, 400L, 500L,
                500L, 500L);
        assertThat(policy(20, 0.1, 0.1, 0.4).totalWait()).contains(Duration.ofSeconds(9));
        // Nothing to grow into: all waits are 0 (kombu would grow without bound here).
        assertThat(firstWaitsMillis(policy(3, 0, 0.2, 0), 3)).containsExactly(0L, 0L, 0L);
    }

    @Test
    void aSendsPolicyIsLaidOverTheConfiguredOneKeyByKey() {
        PublishRetryPolicy mine = PublishRetryPolicy.builder().maxRetries(20).build();
        assertThat(mine.complete()).isFalse();
        assertThatThrownBy(mine::intervals).isInstanceOf(IllegalStateException.class);
        PublishRetryPolicy merged = mine.orElse(PublishRetryPolicy.CELERY_DEFAULT);
        assertThat(merged.maxRetries()).hasValue(20);
        assertThat(merged.intervalStep()).contains(Duration.ofMillis(200));
        assertThat(merged.intervalMax()).contains(Duration.ofSeconds(1));
        assertThat(PublishRetryPolicy.CELERY_DEFAULT.orElse(merged)).isEqualTo(PublishRetryPolicy.CELERY_DEFAULT);
    }

    @Test
    void celerysNoneRetriesForEverAndUnknownKeysAreRefused() {
        java.util.HashMap<String, Object> forever = new java.util.HashMap<>();
        forever.put("max_retries", null);
        PublishRetryPolicy p = PublishRetryPolicy.parse(forever).orElse(PublishRetryPolicy.CELERY_DEFAULT);
        assertThat(p.maxRetries()).hasValue(-1);
        assertThat(p.totalWait()).isEmpty();
        assertThat(p.toString()).contains("'max_retries': None");
        assertThatThrownBy(() -> PublishRetryPolicy.parse(Map.of("retry_errors", List.of())))
                .hasMessageContaining("unknown retry policy key 'retry_errors'");
        assertThatThrownBy(() -> PublishRetryPolicy.builder().maxRetries(-2))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PublishRetryPolicy.builder().intervalStep(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
