package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.DispatchLedgerContract;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.awaitility.Awaitility.await;

/** The ledger contract on a real Redis, whose own clock times the records: time passes by waiting for it. */
class RedisDispatchLedgerIT extends DispatchLedgerContract {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private RedisClient client;
    private StatefulRedisConnection<String, String> redis;
    private RedisScheduleStore store;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(2));
        redis = client.connect();
        redis.sync().flushdb();
        store = new RedisScheduleStore(REDIS.url(2), CeleriacConfig.defaults());
    }

    @AfterEach
    void tearDown() {
        store.close();
        redis.close();
        client.shutdown();
    }

    @Override
    protected DispatchLedger ledger() {
        return store.dispatchLedger().orElseThrow();
    }

    @Override
    protected void elapse(Duration d) {
        long until = redisMillis() + d.toMillis();
        await().atMost(d.plusSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> redisMillis() >= until);
    }

    private long redisMillis() {
        List<String> t = redis.sync().time();
        return Long.parseLong(t.get(0)) * 1000 + Long.parseLong(t.get(1)) / 1000;
    }
}
