package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.control.ControlMessage;
import io.celeriac.testing.RedisSentinelSet;
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
 * A Sentinel-managed master fails while a worker drains thousands of acks-late tasks and a producer keeps sending:
 * killed with SIGKILL, or demoted by a Sentinel failover (the case where clients of other libraries keep writing to
 * the demoted server and get {@code READONLY} until restarted). Sentinel promotes a replica; the worker, the producer,
 * the result backend and remote control (pub/sub) follow it, and every task runs. Runs are counted by the task itself,
 * not through the result backend.
 *
 * <p>A failover may run a task twice: a reserve or an ack the master took but had not yet passed to the replica is
 * undone by the promotion, as a restore from that replica would undo it. The count is printed, not asserted; what is
 * asserted is that nothing is lost: sends return only once a replica holds them ({@code WAIT}).
 */
class SentinelFailoverIT {
    private static final int TASKS = 3000;

    public static class Recorder {
        static final Map<String, AtomicInteger> RUNS = new ConcurrentHashMap<>();

        @Task(name = "sentinel.record", acksLate = Task.Toggle.ON)
        public String record(String id) throws InterruptedException {
            RUNS.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            Thread.sleep(1);
            return id;
        }
    }

    private RedisSentinelSet set;
    private Celeriac producer;
    private Celeriac workers;
    private Worker worker;

    private void start(int replicas) throws Exception {
        Recorder.RUNS.clear();
        set = RedisSentinelSet.start(replicas);
        // Celery's spelling: the sentinels in the URL, the master's name in the transport options.
        CeleriacConfig.Builder config = CeleriacConfig.builder().brokerUrl(set.celeryUrl(0))
                .resultBackend(set.celeryUrl(1)).brokerTransportOptions(Map.of("master_name", RedisSentinelSet.MASTER))
                .acksLate(true).prefetchMultiplier(1);
        producer = Celeriac.builder().config(config.hostname("producer@test").build()).build();
        workers = Celeriac.builder().config(config.hostname("sentinel-worker@test").build())
                .register(new Recorder()).build();
        worker = workers.worker().concurrency(4).start();
    }

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
        if (set != null) {
            set.close();
        }
    }

    /** Two replicas: Sentinel promotes the one furthest along, which holds every write a replica confirmed. */
    @Test
    void aKilledMasterLosesNoTask() throws Exception {
        start(2);
        underLoad(() -> set.killMaster());
    }

    /**
     * One replica. A forced failover promotes it while the old master still takes writes, until Sentinel demotes it
     * seconds later; writes confirmed by all replicas (here the one) cannot fall into that window, since the promoted
     * replica no longer confirms the old master's. With more replicas than {@code wait_for_replicas}, one still
     * following the old master could confirm writes the new master never sees (docs/redis.md).
     */
    @Test
    void aDemotedMasterLeavesNoWriterBehind() throws Exception {
        start(1);
        underLoad(() -> {
            int old = set.masterPort();
            set.failover();
            return old;
        });
    }

    private interface Fault {
        int inflict() throws Exception;
    }

    private void underLoad(Fault fault) throws Exception {
        int firstMaster = set.masterPort();
        AtomicInteger sent = new AtomicInteger();
        AtomicInteger sendFailures = new AtomicInteger();
        AtomicReference<Throwable> producerError = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                for (int i = 0; i < TASKS; i++) {
                    String id = "task-" + i;
                    // A send that fails is sent again under the same id, as a producer would: its outcome was
                    // unknown, so this may queue it twice; runs are counted per id.
                    while (true) {
                        try {
                            producer.applyAsync("sentinel.record", List.of(id), Map.of(),
                                    SendOptions.builder().taskId(id).build());
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

        System.out.println("before the fault, master: " + set.info(firstMaster).replaceAll("\\s+", " "));
        int old = fault.inflict();
        assertThat(old).isEqualTo(firstMaster);
        long faultAt = System.nanoTime();
        int newMaster = set.awaitMasterOtherThan(old, 60);
        System.out.printf("master %d failed; sentinels promoted %d after %d ms%n", old, newMaster,
                (System.nanoTime() - faultAt) / 1_000_000);

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

        // The result backend follows the new master too: the last results are readable through the sentinels.
        for (int i = TASKS - 5; i < TASKS; i++) {
            assertThat(producer.result("task-" + i).get(Duration.ofSeconds(30))).isEqualTo("task-" + i);
        }
        // Remote control rides on pub/sub, which must subscribe again on the new master.
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(producer.controlBus("test")
                .broadcastAndCollect(ControlMessage.of("ping", Map.of()), Duration.ofSeconds(1)))
                .anySatisfy(reply -> assertThat(reply).containsKey("sentinel-worker@test")));
        // And the new master took the writes: the queue is drained there, with nothing left reserved.
        await().atMost(Duration.ofSeconds(30)).until(() -> ((RedisBroker) workers.broker()).unackedCount() == 0);
        assertThat(producer.broker().queueLength("celery")).isZero();
    }
}
