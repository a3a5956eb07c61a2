package io.celeriac.amqp;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.amqp.testing.AmqpWorkerMain;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.redis.testing.FleetRuns;
import io.celeriac.task.Signature;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker process on RabbitMQ killed with SIGKILL while it holds acks-late tasks, running and prefetched: RabbitMQ
 * redelivers every one of them to the next worker, and every task completes. Runs are counted in the workers' own
 * run logs, not through the broker or a result backend; a task runs again only after its first worker was killed,
 * and only if that worker had started it (running, or finished with its ack not yet sent).
 */
class AmqpWorkerKillIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();
    private static final int TASKS = 200;
    private static final int CONCURRENCY = 4;

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process worker(int n) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process p = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), AmqpWorkerMain.class.getName(), RABBIT.url(),
                Integer.toString(CONCURRENCY), "kill-" + n + "@test", dir.resolve("worker-" + n + ".log").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("worker-" + n + ".out").toFile()).start();
        processes.add(p);
        return p;
    }

    @Test
    void everyTaskAKilledWorkerHeldIsRedeliveredAndCompletes() throws Exception {
        Set<String> sent = new HashSet<>();
        try (Celeriac producer = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(RABBIT.url())
                .resultBackend("memory://").build()).build()) {
            producer.broker().purge("celery");
            List<Signature> sigs = new ArrayList<>();
            for (int i = 0; i < TASKS; i++) {
                sigs.add(producer.signature("fleet.run", 80));
            }
            producer.sendAll(sigs).forEach(r -> sent.add(r.id()));
        }

        Process first = worker(1);
        // Killed once it has finished some and is in the middle of others (runs started, not ended).
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(2)).until(() -> {
            FleetRuns runs = FleetRuns.read(dir);
            return runs.tasks().stream().filter(runs::ended).count() >= 40
                    && runs.tasks().stream().filter(t -> !runs.ended(t)).count() >= 2;
        });
        long killedAt = System.currentTimeMillis();
        first.destroyForcibly();
        assertThat(first.waitFor(10, TimeUnit.SECONDS)).as("SIGKILL ends the worker").isTrue();
        FleetRuns atKill = FleetRuns.read(dir);
        List<String> interrupted = atKill.tasks().stream().filter(t -> !atKill.ended(t)).toList();
        // The kill came 2 ms at most after two runs were seen open, and a run takes 80 ms.
        assertThat(interrupted).as("tasks the kill cut short").isNotEmpty();

        worker(2);
        await().atMost(Duration.ofSeconds(90)).until(() -> {
            FleetRuns runs = FleetRuns.read(dir);
            return sent.stream().allMatch(runs::ended);
        });

        FleetRuns runs = FleetRuns.read(dir);
        assertThat(runs.tasks()).containsAll(sent);
        assertThat(runs.anomalies()).isEmpty();
        // A task comes back only from the killed worker, and only after the kill: one it was running, or one it had
        // just finished whose ack the kill cut off. Never while the worker that held it was alive.
        assertThat(runs.unexplainedRepeats(Map.of(1, killedAt))).isEmpty();
        for (String t : sent) {
            assertThat(runs.runs(t)).as("runs of %s", t).hasSizeLessThanOrEqualTo(2);
        }
        // What worker 1 held at most: its window (concurrency x prefetch multiplier 1).
        assertThat(runs.repeats()).isLessThanOrEqualTo(CONCURRENCY);
        try (AmqpBroker probe = new AmqpBroker(RABBIT.url(), CeleriacConfig.defaults())) {
            assertThat(probe.queueLength("celery")).isZero();
        }
    }
}
