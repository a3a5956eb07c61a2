package io.celeriac.cli;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.jdbc.JdbcScheduleStore;
import io.celeriac.redis.RedisScheduleStore;

/** Picks the beat store for a command: Redis on the broker's server, another Redis URL, or a JDBC URL. */
final class Stores {
    private Stores() {
    }

    static ScheduleStore open(String store, CeleriacConfig config) {
        String url = store == null || store.equals("redis") ? config.brokerUrl() : store;
        if (io.celeriac.redis.RedisUrl.isRedisUrl(url)) {
            return new RedisScheduleStore(url, config);
        }
        if (url.startsWith("jdbc:")) {
            // Credentials from the environment rather than the command line, where `ps` would show them.
            return JdbcScheduleStore.open(url, System.getenv("CELERIAC_BEAT_DB_USER"),
                    System.getenv("CELERIAC_BEAT_DB_PASSWORD"));
        }
        throw new IllegalArgumentException("beat needs a shared store: use a redis:// broker, --store "
                + "redis://host:port/db, or --store jdbc:postgresql://host/db");
    }
}
