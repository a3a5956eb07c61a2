package io.celeriac.dashboard;

import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.extension.RegisterExtension;

class RedisHistoryStoreIT extends HistoryStoreContract {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @Override
    HistoryStore newStore() {
        RedisClient client = RedisClient.create(REDIS.url(0));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            c.sync().flushall();
        } finally {
            client.shutdown();
        }
        return new RedisHistoryStore(REDIS.url(0));
    }

    @Override
    HistoryStore reopen() {
        return new RedisHistoryStore(REDIS.url(0));
    }
}
