package io.celeriac;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CeleriacConfigTest {

    @Test
    void defaultsAreCelerys() {
        CeleriacConfig c = CeleriacConfig.defaults();
        assertThat(c.brokerUrl()).isEqualTo("memory://");
        assertThat(c.defaultQueue()).isEqualTo("celery");
        assertThat(c.acksLate()).isFalse();
        assertThat(c.prefetchMultiplier()).isEqualTo(4);
        assertThat(c.resultExpires()).isEqualTo(Duration.ofDays(1));
        assertThat(c.visibilityTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(c.timezone()).isEqualTo(ZoneId.of("UTC"));
        assertThat(c.timeLimit()).isEmpty();
    }

    @Test
    void celerySettingNamesCarryOver() {
        Properties p = new Properties();
        p.setProperty("broker_url", "redis://localhost:6379/0");
        p.setProperty("result_backend", "redis://localhost:6379/1");
        p.setProperty("task_acks_late", "True");
        p.setProperty("worker_prefetch_multiplier", "1");
        p.setProperty("task_time_limit", "300");
        p.setProperty("task_soft_time_limit", "240.5");
        p.setProperty("result_expires", "3600");
        p.setProperty("timezone", "Europe/Paris");
        p.setProperty("task_routes", "orders.*:orders, emails.send:email");
        p.setProperty("unrelated.key", "ignored");
        CeleriacConfig c = CeleriacConfig.builder().apply(p).build();
        assertThat(c.brokerUrl()).isEqualTo("redis://localhost:6379/0");
        assertThat(c.resultBackend()).isEqualTo("redis://localhost:6379/1");
        assertThat(c.acksLate()).isTrue();
        assertThat(c.prefetchMultiplier()).isEqualTo(1);
        assertThat(c.timeLimit()).contains(Duration.ofSeconds(300));
        assertThat(c.softTimeLimit()).contains(Duration.ofMillis(240_500));
        assertThat(c.resultExpires()).isEqualTo(Duration.ofHours(1));
        assertThat(c.timezone()).isEqualTo(ZoneId.of("Europe/Paris"));
        assertThat(c.routeFor("orders.render_pdf")).contains("orders");
        assertThat(c.routeFor("emails.send")).contains("email");
        assertThat(c.routeFor("emails.send_all")).isEmpty();
    }

    /** Celery 5.2's celery/app/defaults.py (namespaces event and control), so `celery events` keeps meeting us. */
    @Test
    void eventAndControlSettingsDefaultToCelerysAndTakeCelerysNamesAndNone() {
        CeleriacConfig d = CeleriacConfig.defaults();
        assertThat(d.eventExchange()).isEqualTo("celeryev");
        assertThat(d.eventQueuePrefix()).isEqualTo("celeryev");
        assertThat(d.eventQueueTtl()).contains(Duration.ofSeconds(5));
        assertThat(d.eventQueueExpires()).contains(Duration.ofSeconds(60));
        assertThat(d.controlExchange()).isEqualTo("celery");
        assertThat(d.controlQueueTtl()).contains(Duration.ofSeconds(300));
        assertThat(d.controlQueueExpires()).contains(Duration.ofSeconds(10));

        Properties p = new Properties();
        p.setProperty("event_exchange", "ops.events");
        p.setProperty("CELERY_EVENT_QUEUE_PREFIX", "opsmon");
        p.setProperty("event_queue_ttl", "1.5");
        p.setProperty("event_queue_expires", "None");
        p.setProperty("celeriac.control-exchange", "ops");
        p.setProperty("control_queue_ttl", "0");
        p.setProperty("control_queue_expires", "2.25");
        CeleriacConfig c = CeleriacConfig.builder().apply(p).build();
        assertThat(c.eventExchange()).isEqualTo("ops.events");
        assertThat(c.eventQueuePrefix()).isEqualTo("opsmon");
        assertThat(c.eventQueueTtl()).contains(Duration.ofMillis(1500));
        assertThat(c.eventQueueExpires()).isEmpty();
        assertThat(c.controlExchange()).isEqualTo("ops");
        assertThat(c.controlQueueTtl()).contains(Duration.ZERO);
        assertThat(c.controlQueueExpires()).contains(Duration.ofMillis(2250));
        assertThat(c.toBuilder().build().controlQueueExpires()).contains(Duration.ofMillis(2250));
        assertThat(CeleriacConfig.loadBuilder(Map.of("CELERY_EVENT_QUEUE_TTL", "None")).build().eventQueueTtl())
                .isEmpty();

        // What RabbitMQ would refuse (x-expires 0) or Celery could not mean, refused with the key named.
        assertThatThrownBy(() -> CeleriacConfig.builder().set("event_queue_expires", "0"))
                .hasMessageContaining("event_queue_expires").hasMessageContaining("at least 0.001 seconds");
        assertThatThrownBy(() -> CeleriacConfig.builder().set("control_queue_ttl", "-1"))
                .hasMessageContaining("control_queue_ttl").hasMessageContaining("0 or more");
        assertThatThrownBy(() -> CeleriacConfig.builder().set("control_exchange", " "))
                .hasMessageContaining("control_exchange must be a name");
    }

    @Test
    void dottedDashedAndEnvironmentSpellingsAreAliases() {
        assertThat(CeleriacConfig.canonicalKey("celeriac.task-acks-late")).contains("task_acks_late");
        assertThat(CeleriacConfig.canonicalKey("CELERIAC_TASK_ACKS_LATE")).contains("task_acks_late");
        assertThat(CeleriacConfig.canonicalKey("CELERY_BROKER_URL")).contains("broker_url");
        assertThat(CeleriacConfig.canonicalKey("worker_prefetch_multiplier")).contains("worker_prefetch_multiplier");
        assertThat(CeleriacConfig.canonicalKey("CELERYD_CONCURRENCY")).contains("worker_concurrency");
        assertThat(CeleriacConfig.canonicalKey("nonsense")).isEmpty();
    }

    @Test
    void environmentOverridesFileWhichOverridesDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("celeriac.properties");
        Files.writeString(file, "broker_url=redis://file:6379/0\nworker_concurrency=3\n"
                + "celeriac.task-default-queue=from-file\n");
        CeleriacConfig c = CeleriacConfig.loadBuilder(Map.of(
                "CELERIAC_CONFIG", file.toString(),
                "CELERIAC_BROKER_URL", "redis://env:6379/0",
                "CELERY_TASK_ACKS_LATE", "yes",
                "PATH", "/usr/bin")).build();
        assertThat(c.brokerUrl()).isEqualTo("redis://env:6379/0");
        assertThat(c.concurrency()).isEqualTo(3);
        assertThat(c.defaultQueue()).isEqualTo("from-file");
        assertThat(c.acksLate()).isTrue();
    }

    @Test
    void celeryRoutesDictAsJson() {
        CeleriacConfig c = CeleriacConfig.builder()
                .set("task_routes", "{\"orders.*\": {\"queue\": \"orders\"}, \"pdf.render\": \"render\"}").build();
        assertThat(c.routeFor("orders.x")).contains("orders");
        assertThat(c.routeFor("pdf.render")).contains("render");
    }

    @Test
    void badValuesAreRefusedClearly() {
        assertThatThrownBy(() -> CeleriacConfig.builder().set("worker_prefetch_multiplier", "lots"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("worker_prefetch_multiplier")
                .hasMessageContaining("lots");
        assertThatThrownBy(() -> CeleriacConfig.builder().set("task_ackslate", "true"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown setting");
        assertThatThrownBy(() -> CeleriacConfig.builder().timeLimit(Duration.ofSeconds(10))
                .softTimeLimit(Duration.ofSeconds(20)).build())
                .hasMessageContaining("must not exceed");
    }

    @Test
    void resultBackendDefaultsToTheBroker() {
        assertThat(CeleriacConfig.builder().brokerUrl("redis://h:1/2").build().resultBackend())
                .isEqualTo("redis://h:1/2");
    }
}
