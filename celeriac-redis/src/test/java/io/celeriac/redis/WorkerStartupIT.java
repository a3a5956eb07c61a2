package io.celeriac.redis;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A worker started while its Redis is down: it waits and retries as Celery's does, or says clearly why not. */
class WorkerStartupIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static Celeriac app(CeleriacConfig.Builder config) {
        return Celeriac.builder().config(config.brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1))
                .hostname("startup@test").build()).register(new TestTasks()).build();
    }

    @Test
    void aWorkerStartedWhileRedisIsDownStartsConsumingOnceRedisIsUp() throws Exception {
        TestTasks.reset();
        REDIS.stop();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger workerLog = (Logger) LoggerFactory.getLogger("celeriac.worker");
        logs.start();
        workerLog.addAppender(logs);
        AtomicReference<Exception> restart = new AtomicReference<>();
        Thread later = new Thread(() -> {
            try {
                Thread.sleep(3000);
                REDIS.start();
            } catch (Exception e) {
                restart.set(e);
            }
        }, "test-redis-later");
        try (Celeriac app = app(CeleriacConfig.builder())) {
            later.start();
            // Blocks, retrying, until Redis answers.
            Worker worker = app.worker().concurrency(2).start();
            try {
                assertThat(restart.get()).isNull();
                assertThat(app.task("t.add").delay(20, 22).get(Duration.ofSeconds(30))).isEqualTo(42);
                assertThat(logs.list).map(ILoggingEvent::getFormattedMessage).anySatisfy(m -> assertThat(m)
                        .startsWith("Cannot reach the broker at " + REDIS.url(0) + " (")
                        .containsIgnoringCase("refused")
                        .endsWith("); retrying in 2 s (1/100)"));
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
            }
        } finally {
            workerLog.detachAppender(logs);
            later.join();
            REDIS.start();
        }
    }

    @Test
    void withoutRetryOnStartupTheWorkerFailsAtOnceWithAClearException() throws Exception {
        REDIS.stop();
        try (Celeriac app = app(CeleriacConfig.builder().brokerConnectionRetryOnStartup(false))) {
            Worker worker = app.worker().build();
            assertThatThrownBy(worker::start).isInstanceOfSatisfying(BrokerUnavailableException.class,
                    e -> assertThat(e.getMessage()).startsWith("Cannot reach the broker at " + REDIS.url(0))
                            .contains("broker_connection_retry_on_startup is off"));
            assertThat(worker.awaitTermination(Duration.ofSeconds(10))).isTrue();
        } finally {
            REDIS.start();
        }
    }
}
