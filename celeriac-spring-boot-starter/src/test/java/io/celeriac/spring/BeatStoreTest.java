package io.celeriac.spring;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.jdbc.JdbcScheduleStore;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Which store the starter gives beat: celeriac.beat.store, else the broker's Redis; never a broker that is not one. */
class BeatStoreTest {
    @Test
    void aBrokerThatIsNotRedisNeedsAStoreOfItsOwnAndSaysSo() {
        CeleriacConfig onRabbit = CeleriacConfig.builder().brokerUrl("amqp://app:secret@rabbit:5672/").build();
        assertThatThrownBy(() -> CeleriacAutoConfiguration.beatStore(onRabbit, null))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("celeriac.beat.store")
                .hasMessageContaining("redis:// or jdbc:")
                .hasMessageNotContaining("secret");
    }

    @Test
    void aJdbcStoreKeepsTheDispatchLedgerBeatNeedsOnRabbitMq() throws Exception {
        CeleriacConfig onRabbit = CeleriacConfig.builder().brokerUrl("amqp://guest:guest@rabbit:5672/").build();
        ScheduleStore store = CeleriacAutoConfiguration.beatStore(onRabbit,
                "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        try {
            assertThat(store).isInstanceOf(JdbcScheduleStore.class);
            assertThat(store.dispatchLedger()).isPresent();
        } finally {
            ((JdbcScheduleStore) store).close();
        }
    }
}
