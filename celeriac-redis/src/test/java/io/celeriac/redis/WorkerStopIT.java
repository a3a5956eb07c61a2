package io.celeriac.redis;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Stopping a worker on Redis: what it finished is written by the consumer's last call, not left to a fallback. */
class WorkerStopIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @Test
    void aWorkerStoppedInTheMiddleOfABacklogWritesItsLastAcksItselfAndLosesNothing() throws Exception {
        TestTasks.reset();
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger workerLog = (Logger) LoggerFactory.getLogger("celeriac.worker");
        logs.start();
        workerLog.addAppender(logs);
        RedisClient raw = RedisClient.create(REDIS.url(0));
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).hostname("stop@test").acksLate(true).build())
                .register(new TestTasks()).build();
             StatefulRedisConnection<String, String> redis = raw.connect()) {
            int sent = 0;
            // Each stop comes while the consumer is busy storing, acking and reserving (a backlog): stop()'s
            // interrupt then lands in that call, and the consumer's last write comes right after it.
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 3000; i++) {
                    app.task("t.add").delay(i, 1);
                }
                sent += 3000;
                Worker worker = app.worker().concurrency(4).start();
                long target = countResults(redis) + 300;
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> countResults(redis) >= target);
                worker.shutdown(Duration.ofSeconds(10));
                assertThat(redis.sync().hlen("unacked")).as("messages left unacked after round %d", round)
                        .isZero();
                // Acks late and a warm shutdown: every message either ran once (its result is stored) or went
                // back to the queue; none is lost, none counted twice.
                assertThat(countResults(redis) + redis.sync().llen("celery")).as("round %d", round)
                        .isEqualTo(sent);
            }
            assertThat(logs.list).map(ILoggingEvent::getFormattedMessage)
                    .noneMatch(m -> m.startsWith("Could not write") && m.contains("while stopping"));
        } finally {
            workerLog.detachAppender(logs);
            raw.shutdown();
        }
    }

    private static long countResults(StatefulRedisConnection<String, String> redis) {
        redis.sync().select(1);
        try {
            return redis.sync().dbsize();
        } finally {
            redis.sync().select(0);
        }
    }
}
