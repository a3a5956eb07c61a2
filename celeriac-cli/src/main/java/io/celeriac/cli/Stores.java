package io.celeriac.cli;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.jdbc.JdbcScheduleStore;
import io.celeriac.redis.RedisScheduleStore;

/**
 * Picks the beat store for a command: Redis on the broker's server, another Redis URL, or a JDBC URL. Both kinds keep
 * a dispatch ledger, so beat works on a RabbitMQ broker with either (given with {@code --store}).
 */
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
        if (url.startsWith("amqp://") || url.startsWith("amqps://")) {
            // RabbitMQ holds no schedule: the entries, the lease and beat's dispatch ledger need a store of their own.
            throw new IllegalArgumentException("with a RabbitMQ broker, beat keeps its entries and dispatch records in "
                    + "a store of its own: --store jdbc:postgresql://host/db (or a MariaDB, H2 URL) or --store "
                    + "redis://host:port/db");
        }
        throw new IllegalArgumentException("beat needs a shared store: use a redis:// broker, --store "
                + "redis://host:port/db, or --store jdbc:postgresql://host/db");
    }
}
