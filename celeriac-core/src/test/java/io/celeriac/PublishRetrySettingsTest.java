package io.celeriac;

import io.celeriac.task.PublishRetryPolicy;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** task_publish_retry and task_publish_retry_policy, under Celery's names and spellings. */
class PublishRetrySettingsTest {

    @Test
    void defaultsAreCelerys() {
        CeleriacConfig c = CeleriacConfig.defaults();
        assertThat(c.publishRetry()).isTrue();
        assertThat(c.publishRetryPolicy()).isEqualTo(PublishRetryPolicy.CELERY_DEFAULT);
    }

    @Test
    void thePolicyIsCelerysDictAsJsonOrAsPythonWritesIt() {
        Properties p = new Properties();
        p.setProperty("task_publish_retry", "False");
        p.setProperty("task_publish_retry_policy", "{\"max_retries\": 10, \"interval_step\": 0.5}");
        CeleriacConfig c = CeleriacConfig.builder().apply(p).build();
        assertThat(c.publishRetry()).isFalse();
        assertThat(c.publishRetryPolicy().maxRetries()).hasValue(10);
        assertThat(c.publishRetryPolicy().intervalStep()).contains(Duration.ofMillis(500));
        // Keys left out keep the default's.
        assertThat(c.publishRetryPolicy().intervalMax()).contains(Duration.ofSeconds(1));

        CeleriacConfig py = CeleriacConfig.loadBuilder(Map.of("CELERY_TASK_PUBLISH_RETRY_POLICY",
                "{'max_retries': None, 'interval_start': 1}")).build();
        assertThat(py.publishRetryPolicy().maxRetries()).hasValue(-1);
        assertThat(py.publishRetryPolicy().intervalStart()).contains(Duration.ofSeconds(1));
        assertThat(CeleriacConfig.canonicalKey("celeriac.task-publish-retry-policy"))
                .contains("task_publish_retry_policy");
    }

    @Test
    void aPolicyThatIsNotADictIsRefusedWithAnExample() {
        assertThatThrownBy(() -> CeleriacConfig.builder().set("task_publish_retry_policy", "3"))
                .hasMessageContaining("must be a dict such as");
        assertThatThrownBy(() -> CeleriacConfig.builder().set("task_publish_retry_policy", "{\"retries\": 3}"))
                .hasMessageContaining("unknown retry policy key 'retries'");
    }
}
