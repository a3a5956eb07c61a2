package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RedisClusterSet;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Queues are sharded: each queue's keys share one slot (its hash tag), different queues sit on different masters,
 * and one worker consuming them all runs tasks from each.
 */
class ClusterShardingIT {
    /** Their hash tags fall in all three of the slot ranges {@code redis-cli --cluster create} gives three masters. */
    private static final List<String> QUEUES = List.of("email", "render", "reports", "billing", "search", "thumbs");
    private static final int PER_QUEUE = 40;

    /** Counts its own runs per queue in the test JVM, independently of the broker and the result backend. */
    public static final class Tasks {
        static final Map<String, AtomicInteger> RUNS = new ConcurrentHashMap<>();

        @Task(name = "shard.count")
        public String count(String queue) {
            RUNS.computeIfAbsent(queue, q -> new AtomicInteger()).incrementAndGet();
            return queue;
        }
    }

    @Test
    void sixQueuesLandOnThreeMastersAndOneWorkerRunsTasksFromEach() throws Exception {
        RedisClusterSet cluster = ClusterBrokerContractIT.cluster();
        cluster.flushAll();
        Tasks.RUNS.clear();
        String url = cluster.url();
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(url).resultBackend(url)
                .acksLate(true).hostname("shard@test").build()).register(new Tasks()).build()) {
            RedisBroker broker = (RedisBroker) app.broker();
            for (String q : QUEUES) {
                for (int i = 0; i < PER_QUEUE; i++) {
                    app.applyAsync("shard.count", List.of(q), Map.of(), SendOptions.builder().queue(q).build());
                }
            }

            // Where the keys are: each queue's list on the master of its hash tag's slot, which CLUSTER KEYSLOT and
            // CLUSTER SLOTS name; the queues' masters are all three.
            Set<Integer> masters = new TreeSet<>();
            for (String q : QUEUES) {
                int slot = cluster.slotOf("{" + q + "}");
                int master = cluster.masterOfSlot(slot);
                masters.add(master);
                assertThat(cluster.<Object>run(master, c -> c.sync().llen("{" + q + "}"))).as(q).isEqualTo((long) PER_QUEUE);
                assertThat(broker.queueLength(q)).as(q).isEqualTo(PER_QUEUE);
                assertThat(broker.queueLocation(q)).isEqualTo("slot " + slot + " on 127.0.0.1:" + master);
                for (String key : List.of("{" + q + "}.unacked", "{" + q + "}.unacked_index",
                        "{" + q + "}\u0006\u00169", "{" + q + "}.celeriac.scheduled", "{" + q + "}.celeriac.consumers")) {
                    assertThat(cluster.slotOf(key)).as(key).isEqualTo(slot);
                }
            }
            assertThat(masters).hasSize(3).isEqualTo(cluster.masters());

            Worker worker = app.worker().queues(QUEUES).concurrency(4).start();
            try {
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    for (String q : QUEUES) {
                        assertThat(Tasks.RUNS.getOrDefault(q, new AtomicInteger()).get()).as(q)
                                .isEqualTo(PER_QUEUE);
                    }
                });
                // The consumer beat in each queue's own slot, on that queue's master.
                for (String q : QUEUES) {
                    int master = cluster.masterOf("{" + q + "}");
                    assertThat(cluster.<Object>run(master, c -> c.sync().scard("{" + q + "}.celeriac.consumers")))
                            .as(q).isEqualTo(1L);
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> broker.unackedCount() == 0);
                // Results are stored by the backend itself on the cluster, and read back through it.
                AsyncResult r = app.applyAsync("shard.count", List.of("email"), Map.of(),
                        SendOptions.builder().queue("email").build());
                assertThat(r.get(Duration.ofSeconds(20))).isEqualTo("email");
            } finally {
                worker.shutdownNow();
            }
        }
    }
}
