package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.CeleriacException;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.PriorityLists;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The broker contract under kombu's {@code global_keyprefix} (a hash tag, as a mixed fleet on a Redis Cluster node
 * uses it), and the layout it leaves: every broker key under the prefix, as kombu's prefixing client writes them.
 */
class PrefixedRedisBrokerContractIT extends RedisBrokerContractIT {
    static final String PREFIX = "{celery}";

    @Override
    protected String globalKeyPrefix() {
        return PREFIX;
    }

    @Test
    void everyBrokerKeyIsUnderThePrefix() throws Exception {
        String url = brokerUrl();
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url)
                .brokerTransportOptions(Map.of("global_keyprefix", PREFIX)).build();
        RedisClient admin = RedisClient.create(RedisUrl.parse(url).toRedisUri());
        try (StatefulRedisConnection<String, String> c = admin.connect(); RedisBroker broker = new RedisBroker(url, config)) {
            c.sync().flushall();
            broker.declare(List.of("emails"));
            broker.publish(List.of(message("emails", 0, "id-1"), message("emails", 9, "id-2")));
            List<Delivery> got = broker.reserve(List.of("emails"), 1, Duration.ofSeconds(2));
            assertThat(got).hasSize(1);

            List<String> keys = c.sync().keys("*");
            assertThat(keys).as("what a reserve and a binding leave: %s", keys)
                    .contains(PREFIX + "unacked", PREFIX + "unacked_index",
                            PREFIX + "emails" + PriorityLists.SEP + "9", PREFIX + "_kombu.binding.emails",
                            PREFIX + "celeriac.consumers")
                    .allMatch(k -> k.startsWith(PREFIX), "every key starts with " + PREFIX);
            assertThat(c.sync().hlen(PREFIX + "unacked")).isEqualTo(1);
            broker.ack(got);
            assertThat(c.sync().hlen(PREFIX + "unacked")).isZero();
        } finally {
            admin.shutdown();
        }
    }

    @Test
    void aPrefixOnAClusterUrlIsRefusedWithTheWayOut() {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl("redis+cluster://127.0.0.1:7000")
                .brokerTransportOptions(Map.of("global_keyprefix", PREFIX)).build();
        assertThatThrownBy(() -> new RedisBroker("redis+cluster://127.0.0.1:7000", config))
                .isInstanceOf(CeleriacException.class)
                .hasMessageContaining("global_keyprefix")
                .hasMessageContaining("redis://<the master serving {celery}>");
    }
}
