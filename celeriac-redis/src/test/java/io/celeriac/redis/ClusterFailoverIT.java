package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.testing.RedisClusterSet;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A cluster master is SIGKILLed while a worker drains a few thousand acks-late tasks from queues on every master and a
 * producer keeps sending: the master's replica is promoted, the queues on the other masters carry on meanwhile, and
 * every task runs. Runs are counted by the task itself, not through the result backend. Sends return only once the
 * slot's replica holds them ({@code WAIT} on the connection to the slot's master), so nothing sent is lost.
 *
 * <p>A failover may run a task twice (a reserve or ack the master took but had not yet passed on is undone by the
 * promotion); the count is printed, not asserted.
 */
class ClusterFailoverIT {
    private static final int TASKS = 2000;
    /** Their hash tags' slots lie on all three masters of a fresh cluster. */
    private static final List<String> QUEUES = List.of("fo.0", "fo.1", "fo.2", "fo.3");

    public static class Recorder {
        static final Map<String, AtomicInteger> RUNS = new ConcurrentHashMap<>();

        @Task(name = "cluster.record", acksLate = Task.Toggle.ON)
        public String record(String id) throws InterruptedException {
            RUNS.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            Thread.sleep(1);
            return id;
        }
    }

    private RedisClusterSet cluster;
    private Celeriac producer;
    private Celeriac workers;
    private Worker worker;

    @AfterEach
    void tearDown() {
        if (worker != null) {
            worker.shutdownNow();
        }
        if (workers != null) {
            workers.close();
        }
        if (producer != null) {
            producer.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aKilledMastersReplicaTakesOverAndEveryTaskRuns() throws Exception {
        Recorder.RUNS.clear();
        cluster = RedisClusterSet.start();
        String url = cluster.url();
        CeleriacConfig.Builder config = CeleriacConfig.builder().brokerUrl(url).resultBackend(url).acksLate(true)
                .prefetchMultiplier(1);
        producer = Celeriac.builder().config(config.hostname("producer@test").build()).build();
        workers = Celeriac.builder().config(config.hostname("cluster-worker@test").build())
                .register(new Recorder()).build();
        worker = workers.worker().queues(QUEUES).concurrency(4).start();

        AtomicInteger sent = new AtomicInteger();
        AtomicInteger sendFailures = new AtomicInteger();
        AtomicReference<Throwable> producerError = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < TASKS; i++) {
                    String id = "task-" + i;
                    String queue = QUEUES.get(i % QUEUES.size());
                    // A send that fails is sent again under the same id, as a producer would: its outcome was
                    // unknown, so this may queue it twice; runs are counted per id.
                    while (true) {
                        try {
                            producer.applyAsync("cluster.record", List.of(id), Map.of(),
                                    SendOptions.builder().taskId(id).queue(queue).build());
                            break;
                        } catch (BrokerUnavailableException e) {
                            sendFailures.incrementAndGet();
                            Thread.sleep(100);
                        }
                    }
                    sent.incrementAndGet();
                }
            } catch (Throwable t) {
                producerError.set(t);
            }
        }, "producer");
        sender.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> Recorder.RUNS.size() >= TASKS / 5);

        int slot = cluster.slotOf("{fo.0}");
        int old = cluster.masterOfSlot(slot);
        cluster.kill(old);
        long killedAt = System.nanoTime();
        int promoted = cluster.awaitPromotion(old, slot, 60);
        System.out.printf("master %d (slot %d) killed; its replica %d promoted after %d ms%n", old, slot, promoted,
                (System.nanoTime() - killedAt) / 1_000_000);
        // The promoted master has no replica of its own until the old one rejoins as one: until then WAIT cannot be
        // satisfied for its slots (wait_for_replicas=1), and writes there fail and are retried.
        cluster.restart(old);
        cluster.awaitHealthy(60);

        sender.join(Duration.ofSeconds(120).toMillis());
        assertThat(producerError.get()).isNull();
        assertThat(sent.get()).isEqualTo(TASKS);
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
            List<String> missing = new ArrayList<>();
            for (int i = 0; i < TASKS && missing.size() < 10; i++) {
                if (!Recorder.RUNS.containsKey("task-" + i)) {
                    missing.add("task-" + i);
                }
            }
            assertThat(missing).as("tasks never run").isEmpty();
        });
        long twice = Recorder.RUNS.values().stream().filter(n -> n.get() > 1).count();
        System.out.printf("%d tasks ran, %d of them more than once; %d sends failed during the failover and were "
                + "sent again%n", Recorder.RUNS.size(), twice, sendFailures.get());
        assertThat(Recorder.RUNS).hasSize(TASKS);

        // The result backend follows the promotion too: the last results, on every master, are readable.
        for (int i = TASKS - 8; i < TASKS; i++) {
            assertThat(producer.result("task-" + i).get(Duration.ofSeconds(30))).isEqualTo("task-" + i);
        }
    }
}
