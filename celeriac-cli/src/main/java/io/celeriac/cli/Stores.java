package io.celeriac.cli;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.redis.RedisScheduleStore;

/** Picks the beat store for a command: Redis on the broker's server, or another Redis URL. */
final class Stores {
    private Stores() {
    }

    static ScheduleStore open(String store, CeleriacConfig config) {
        String url = store == null || store.equals("redis") ? config.brokerUrl() : store;
        if (url.startsWith("redis://") || url.startsWith("rediss://")) {
            return new RedisScheduleStore(url, config);
        }
        throw new IllegalArgumentException("beat needs a shared store: use a redis:// broker or --store "
                + "redis://host:port/db (the JDBC store is not available yet)");
    }
}
