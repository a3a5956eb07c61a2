package io.celeriac;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The worker's broker-startup and message-size settings: Celery's names and defaults, in every spelling. */
class WorkerStartupSettingsTest {

    @Test
    void defaultsAreCelerysAndTwentyMebibytes() {
        CeleriacConfig c = CeleriacConfig.defaults();
        assertThat(c.brokerConnectionRetryOnStartup()).isTrue();
        assertThat(c.brokerConnectionMaxRetries()).isEqualTo(100);
        assertThat(c.maxMessageBytes()).isEqualTo(20L * 1024 * 1024);
    }

    @Test
    void celeryNamesAndNoneForEver() {
        Properties p = new Properties();
        p.setProperty("broker_connection_retry_on_startup", "False");
        p.setProperty("broker_connection_max_retries", "None");
        p.setProperty("celeriac.max-message-bytes", "1048576");
        CeleriacConfig c = CeleriacConfig.builder().apply(p).build();
        assertThat(c.brokerConnectionRetryOnStartup()).isFalse();
        assertThat(c.brokerConnectionMaxRetries()).isNull();
        assertThat(c.maxMessageBytes()).isEqualTo(1_048_576);
        assertThat(c.toBuilder().build().brokerConnectionMaxRetries()).isNull();
    }

    @Test
    void environmentVariables() {
        CeleriacConfig c = CeleriacConfig.builder().applyEnvironment(Map.of(
                "CELERY_BROKER_CONNECTION_MAX_RETRIES", "5",
                "CELERIAC_MAX_MESSAGE_BYTES", "65536")).build();
        assertThat(c.brokerConnectionMaxRetries()).isEqualTo(5);
        assertThat(c.maxMessageBytes()).isEqualTo(65_536);
        assertThat(CeleriacConfig.canonicalKey("celeriac_max_message_bytes")).hasValue("celeriac_max_message_bytes");
    }

    @Test
    void badValuesAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> CeleriacConfig.builder().set("broker_connection_max_retries", "-1"))
                .hasMessageContaining("broker_connection_max_retries");
        assertThatThrownBy(() -> CeleriacConfig.builder().set("celeriac_max_message_bytes", "10"))
                .hasMessageContaining("celeriac_max_message_bytes").hasMessageContaining("at least 1024");
    }
}
