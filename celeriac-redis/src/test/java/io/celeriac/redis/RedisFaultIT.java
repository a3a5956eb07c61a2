package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.redis.testing.SlowTasks;
import io.celeriac.redis.testing.WorkerMain;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Faults with real processes: a worker killed with SIGKILL, and redis-server stopped and restarted. */
class RedisFaultIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private Celeriac app(Object tasks) {
        return Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1))
                .prefetchMultiplier(1).hostname("survivor@test").build()).register(tasks).build();
    }

    @Test
    void killMinus9OfAWorkerWithAcksLateTasksInFlightLosesNothing() throws Exception {
        try (Celeriac app = app(new SlowTasks())) {
            app.broker().purge("celery");
            List<Signature> sigs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                sigs.add(app.signature("slow.work", i, 400));
            }
            List<AsyncResult> results = app.sendAll(sigs);

            Path log = Files.createTempFile("victim", ".log");
            Process victim = new ProcessBuilder(javaBin(), "-cp", System.getProperty("java.class.path"),
                    WorkerMain.class.getName(), REDIS.url(0), REDIS.url(1), "4")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            RedisBroker broker = (RedisBroker) app.broker();
            try {
                // Wait until the victim holds acks-late tasks mid-run, then kill it without warning.
                await().atMost(Duration.ofSeconds(30)).until(() -> broker.unackedCount() >= 4);
            } finally {
                victim.destroyForcibly();
                assertThat(victim.waitFor(10, TimeUnit.SECONDS)).isTrue();
            }
            long inFlightAtKill = broker.unackedCount();
            assertThat(inFlightAtKill).as("messages held by the killed worker").isPositive();

            long start = System.nanoTime();
            Worker survivor = app.worker().concurrency(4).start();
            try {
                Set<Object> values = new HashSet<>();
                for (AsyncResult r : results) {
                    values.add(r.get(Duration.ofSeconds(60)));
                }
                assertThat(values).hasSize(20);
                // Recovered through the dead consumer's expired heartbeat, not the one-hour visibility timeout.
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(60));
                await().atMost(Duration.ofSeconds(10)).until(() -> broker.unackedCount() == 0);
                assertThat(broker.queueLength("celery")).isZero();
            } finally {
                survivor.shutdown(Duration.ofSeconds(5));
            }
        }
    }

    @Test
    void redisRestartMidRunProducersFailClearlyAndEveryoneCarriesOn() throws Exception {
        TestTasks.reset();
        try (Celeriac app = app(new TestTasks())) {
            Worker worker = app.worker().concurrency(2).start();
            try {
                assertThat(app.task("t.add").delay(1, 2).get(Duration.ofSeconds(10))).isEqualTo(3);

                REDIS.stop();
                try {
                    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                            assertThatThrownBy(() -> app.task("t.add").delay(2, 2))
                                    .isInstanceOf(BrokerUnavailableException.class)
                                    .hasMessageContaining("127.0.0.1:" + REDIS.port())
                                    .hasMessageContaining("not be queued"));
                } finally {
                    REDIS.start();
                }

                // Once Redis is back, producers and the worker carry on by themselves.
                AsyncResult after = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> app.task("t.add").delay(20, 22), r -> r != null);
                assertThat(after.get(Duration.ofSeconds(60))).isEqualTo(42);
                List<AsyncResult> more = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    more.add(app.task("t.add").delay(i, i));
                }
                for (int i = 0; i < 50; i++) {
                    assertThat(more.get(i).get(Duration.ofSeconds(30))).isEqualTo(2 * i);
                }
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
            }
        }
    }

    private static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
