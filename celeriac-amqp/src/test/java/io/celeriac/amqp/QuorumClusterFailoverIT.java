package io.celeriac.amqp;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqCluster;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.task.Signature;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Failover as production runs it: a 3-node cluster, the task queue a quorum queue replicated on all three, the client
 * given every node ({@code broker_url} as kombu's {@code ;} list), a real worker with acks late. Under load the node
 * holding the queue's Raft leader — also the node the client is connected to, the first of the list — is killed
 * (SIGKILL); the other two elect a new leader, the worker and the producer reconnect to the next node of the list,
 * and every task whose publish RabbitMQ confirmed runs; only tasks the kill caught between delivery and ack
 * (at most the worker's prefetch window) may run twice.
 *
 * <p>The size ({@code celeriac.cluster.tasks}, default 3,000) keeps it under a minute on two cores; the long run is
 * {@code benchmarks/quorum-failover.sh}.
 */
class QuorumClusterFailoverIT {
    private static final Logger log = LoggerFactory.getLogger(QuorumClusterFailoverIT.class);
    private static final int TASKS = Integer.getInteger("celeriac.cluster.tasks", 3000);
    private static final int BATCH = 50;
    private static final int CONCURRENCY = 8;

    @RegisterExtension
    static final RabbitMqCluster CLUSTER = new RabbitMqCluster(3);

    /** Runs per task number, counted by the task itself: independent of results and of the broker. */
    static final Map<Integer, AtomicInteger> RUNS = new ConcurrentHashMap<>();

    public static class Recorder {
        @Task(name = "cluster.record")
        public int record(int n) {
            RUNS.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
            return n;
        }
    }

    @Test
    void killingTheLeadersNodeUnderLoadLosesNoConfirmedTask() throws Exception {
        RUNS.clear();
        CeleriacConfig config = CeleriacConfig.builder()
                .brokerUrl(CLUSTER.url("?task_default_queue_type=quorum"))
                .resultBackend("memory://").acksLate(true).hostname("cluster-it@test").build();
        Set<Integer> confirmed = ConcurrentHashMap.newKeySet();
        Set<Integer> unconfirmed = ConcurrentHashMap.newKeySet();
        try (Celeriac app = Celeriac.builder().config(config).register(new Recorder()).build()) {
            app.broker().declare(List.of("celery"));
            RabbitMqServer leader = CLUSTER.leaderOf("celery");
            log.info("leader of 'celery' is on {}", leader.nodeName());
            Worker worker = app.worker().concurrency(CONCURRENCY).start();
            try {
                int killAt = TASKS / 3;
                boolean killed = false;
                long start = System.nanoTime();
                for (int from = 0; from < TASKS; from += BATCH) {
                    if (!killed && RUNS.size() >= killAt / 2 && from >= killAt) {
                        // Under load: tasks are queued, running and held in the prefetch window right now.
                        log.info("killing {} after {} publishes, {} runs", leader.nodeName(), from, RUNS.size());
                        leader.kill();
                        killed = true;
                    }
                    List<Signature> batch = new ArrayList<>();
                    for (int n = from; n < Math.min(TASKS, from + BATCH); n++) {
                        batch.add(app.signature("cluster.record", n));
                    }
                    try {
                        app.sendAll(batch);
                        for (int n = from; n < from + batch.size(); n++) {
                            confirmed.add(n);
                        }
                    } catch (BrokerUnavailableException e) {
                        // Not confirmed: some of the batch may be queued (and run), none is promised.
                        for (int n = from; n < from + batch.size(); n++) {
                            unconfirmed.add(n);
                        }
                    }
                }
                assertThat(killed).as("the leader's node was killed under load").isTrue();
                await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200))
                        .until(() -> RUNS.keySet().containsAll(confirmed));
                log.info("{} confirmed, {} unconfirmed, all confirmed ran in {} ms", confirmed.size(),
                        unconfirmed.size(), (System.nanoTime() - start) / 1_000_000);
            } finally {
                worker.shutdownNow();
            }
            long duplicates = RUNS.values().stream().filter(c -> c.get() > 1).count();
            log.info("{} tasks ran twice or more, max runs of one task {}", duplicates,
                    RUNS.values().stream().mapToInt(AtomicInteger::get).max().orElse(0));
            assertThat(confirmed.size()).as("most publishes were confirmed").isGreaterThan(TASKS / 2);
            assertThat(RUNS.keySet()).as("every confirmed task ran").containsAll(confirmed);
            assertThat(RUNS.keySet()).as("nothing ran that was not published").allMatch(n -> n >= 0 && n < TASKS);
            // Only what the kill caught between delivery and ack runs again: at most the prefetch window's worth.
            assertThat(duplicates).as("duplicates").isLessThanOrEqualTo((long) CONCURRENCY * config.prefetchMultiplier());
            assertThat(RUNS.values()).as("none ran more than twice").allMatch(c -> c.get() <= 2);
        }
    }
}
