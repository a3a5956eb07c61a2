package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ResultDocument;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.testing.RedisClusterSet;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The result backend, chord counting and beat's store on a Redis Cluster. */
class ClusterStoresIT {
    private final MessageCodec codec = new MessageCodec();

    @Test
    void resultsSpreadOverTheMastersAndAWaiterHearsOfItsResult() throws Exception {
        RedisClusterSet cluster = ClusterBrokerContractIT.cluster();
        cluster.flushAll();
        try (RedisResultBackend backend = new RedisResultBackend(RedisUrl.parse(cluster.url()), Duration.ofHours(1),
                codec)) {
            CompletableFuture<Optional<ResultDocument>> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return backend.await("awaited", Duration.ofSeconds(20));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            // One batch whose keys sit on every master: stored in one write per master.
            List<ResultDocument> batch = new ArrayList<>();
            Set<Integer> masters = new TreeSet<>();
            for (int i = 0; i < 60; i++) {
                batch.add(ResultDocument.of("r" + i, TaskState.SUCCESS, i));
                masters.add(cluster.masterOf("celery-task-meta-r" + i));
            }
            backend.store(batch);
            assertThat(masters).hasSize(3);
            for (int i = 0; i < 60; i++) {
                assertThat(backend.get("r" + i)).get().extracting(ResultDocument::result).isEqualTo(i);
            }
            int master = cluster.masterOf("celery-task-meta-r7");
            assertThat(cluster.<Object>run(master, c -> c.sync().exists("celery-task-meta-r7"))).isEqualTo(1L);

            // The waiter subscribed through the cluster's pub/sub; PUBLISH reaches it from any master.
            await(() -> backend.store(List.of(ResultDocument.of("awaited", TaskState.SUCCESS, "done"))));
            assertThat(waiting.get(20, TimeUnit.SECONDS)).get().extracting(ResultDocument::result)
                    .isEqualTo("done");

            backend.forget(List.of("r1", "r2", "r3"));
            assertThat(backend.get("r2")).isEmpty();
            assertThat(backend.get("r4")).isPresent();
        }
    }

    /** Stores again until the waiter has subscribed: it may subscribe after the first store. */
    private static void await(Runnable store) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    store.run();
                    return true;
                });
    }

    @Test
    void aChordsCountersShareOneSlotAndItCompletesOnce() throws Exception {
        RedisClusterSet cluster = ClusterBrokerContractIT.cluster();
        cluster.flushAll();
        try (RedisResultBackend backend = new RedisResultBackend(RedisUrl.parse(cluster.url()), Duration.ofHours(1),
                codec)) {
            ChordCounter chords = backend.chords().orElseThrow();
            String group = "group-42";
            chords.setSize(group, 3);
            assertThat(chords.partDone(group, "p1", 0, "SUCCESS", 1)).isEmpty();
            assertThat(chords.partDone(group, "p1", 0, "SUCCESS", 1)).as("a part recorded twice counts once")
                    .isEmpty();
            assertThat(chords.partDone(group, "p3", 2, "SUCCESS", 3)).isEmpty();
            Optional<List<ChordCounter.Part>> done = chords.partDone(group, "p2", 1, "SUCCESS", 2);
            assertThat(done).get().extracting(l -> l.stream().map(ChordCounter.Part::taskId).toList())
                    .isEqualTo(List.of("p1", "p2", "p3"));
            int slot = cluster.slotOf("celery-taskset-meta-{" + group + "}.j");
            assertThat(cluster.slotOf("celery-taskset-meta-{" + group + "}.s")).isEqualTo(slot);
            assertThat(cluster.slotOf("celery-taskset-meta-{" + group + "}.t")).isEqualTo(slot);
            chords.forget(group);
            assertThat(cluster.<Object>run(cluster.masterOfSlot(slot),
                    c -> c.sync().exists("celery-taskset-meta-{" + group + "}.j"))).isEqualTo(0L);
        }
    }

    @Test
    void beatsStoreAndLeaseLiveInOneSlot() throws Exception {
        RedisClusterSet cluster = ClusterBrokerContractIT.cluster();
        cluster.flushAll();
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(cluster.url()).build();
        try (RedisScheduleStore store = new RedisScheduleStore(cluster.url(), config);
             RedisScheduleStore other = new RedisScheduleStore(cluster.url(), config)) {
            Optional<Long> first = store.lease("beat-a", Duration.ofSeconds(30));
            assertThat(first).isPresent();
            assertThat(other.lease("beat-b", Duration.ofSeconds(30))).as("held by beat-a").isEmpty();
            Optional<Long> again = store.lease("beat-a", Duration.ofSeconds(30));
            assertThat(again).isPresent();
            store.release("beat-a");
            Optional<Long> taken = other.lease("beat-b", Duration.ofSeconds(30));
            assertThat(taken).get().isNotEqualTo(first.get());
            int slot = cluster.slotOf("{celeriac.beat}celeriac.beat.lease");
            assertThat(cluster.<Object>run(cluster.masterOfSlot(slot),
                    c -> c.sync().get("{celeriac.beat}celeriac.beat.lease"))).isEqualTo("beat-b");
        }
    }

    /** The dashboard's history (RedisRecordLog) keeps its hash and its order in one slot, so every command works. */
    @Test
    void aRecordLogKeepsItsTwoKeysInOneSlot() throws Exception {
        RedisClusterSet cluster = ClusterBrokerContractIT.cluster();
        cluster.flushAll();
        try (RedisRecordLog log = new RedisRecordLog(cluster.url(), java.util.Map.of(), "history.records",
                "history.order", "history")) {
            List<RedisRecordLog.Entry> entries = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                entries.add(new RedisRecordLog.Entry("t" + i, "{\"n\": " + i + "}", i));
            }
            log.put(entries);
            assertThat(log.newest(3)).containsExactly("{\"n\": 29}", "{\"n\": 28}", "{\"n\": 27}");
            log.trim(10);
            log.remove(List.of("t29"));
            assertThat(log.newest(100)).hasSize(9).first().isEqualTo("{\"n\": 28}");
            assertThat(cluster.masterOf("{history.records}history.records"))
                    .isEqualTo(cluster.masterOf("{history.records}history.order"));
        }
    }
}
