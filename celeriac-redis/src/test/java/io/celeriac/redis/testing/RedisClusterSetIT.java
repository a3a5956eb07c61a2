package io.celeriac.redis.testing;

import io.celeriac.testing.RedisClusterSet;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The launcher itself: three masters that split the slots, and a killed master's replica taking over. */
class RedisClusterSetIT {
    @Test
    void aKilledMastersReplicaTakesOverItsSlots() throws Exception {
        try (RedisClusterSet cluster = RedisClusterSet.start()) {
            assertThat(cluster.masters()).hasSize(3);
            int slot = cluster.slotOf("{some.queue}");
            int master = cluster.masterOfSlot(slot);
            assertThat(cluster.masters()).contains(master);

            cluster.kill(master);
            int promoted = cluster.awaitPromotion(master, slot, 30);

            assertThat(promoted).isNotEqualTo(master);
            assertThat(cluster.masters()).hasSize(3).contains(promoted).doesNotContain(master);
        }
    }
}
