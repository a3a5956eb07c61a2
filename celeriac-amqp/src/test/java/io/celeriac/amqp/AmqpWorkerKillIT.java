package io.celeriac.amqp;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.amqp.testing.AmqpWorkerMain;
import io.celeriac.amqp.testing.RabbitMqServer;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker process on RabbitMQ killed with SIGKILL while it holds acks-late tasks, running and prefetched: RabbitMQ
 * redelivers every one of them to the next worker, and every task completes. Runs are counted in the workers' own
 * run logs, not through the broker or a result backend; a task runs twice only if the killed worker had started it
 * and not finished it.
 */
class AmqpWorkerKillIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();
    private static final int TASKS = 400;
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
                sigs.add(producer.signature("fleet.run", 25));
            }
            producer.sendAll(sigs).forEach(r -> sent.add(r.id()));
        }

        Process first = worker(1);
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            FleetRuns runs = FleetRuns.read(dir);
            return runs.tasks().stream().filter(runs::ended).count() >= 60;
        });
        first.destroyForcibly();
        assertThat(first.waitFor(10, TimeUnit.SECONDS)).as("SIGKILL ends the worker").isTrue();
        FleetRuns atKill = FleetRuns.read(dir);
        List<String> interrupted = atKill.tasks().stream().filter(t -> !atKill.ended(t)).toList();
        // Four threads busy with 25 ms tasks: the kill finds some mid-run (else this test would prove little).
        assertThat(interrupted).as("tasks the kill cut short").isNotEmpty();

        worker(2);
        await().atMost(Duration.ofSeconds(90)).until(() -> {
            FleetRuns runs = FleetRuns.read(dir);
            return sent.stream().allMatch(runs::ended);
        });

        FleetRuns runs = FleetRuns.read(dir);
        assertThat(runs.tasks()).containsAll(sent);
        for (String t : sent) {
            List<FleetRuns.Run> r = runs.runs(t);
            if (r.size() > 1) {
                // Only a run the kill cut short comes back: started by worker 1, never ended there.
                assertThat(interrupted).as("task %s ran %d times", t, r.size()).contains(t);
                assertThat(r).hasSize(2);
            }
        }
        assertThat(runs.repeats()).isLessThanOrEqualTo(CONCURRENCY);
        try (AmqpBroker probe = new AmqpBroker(RABBIT.url(), CeleriacConfig.defaults())) {
            assertThat(probe.queueLength("celery")).isZero();
        }
    }
}
