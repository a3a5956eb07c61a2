package io.celeriac.cli;

import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.jdbc.JdbcScheduleStore;
import io.celeriac.redis.RedisScheduleStore;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * {@code --store}, shared by {@code beat}, {@code schedule} and {@code dashboard}: where beat's entries live, and how
 * to open it: Redis on the broker's server, another Redis URL, or a JDBC URL. Both kinds keep a dispatch ledger, so
 * beat works on a RabbitMQ broker with either.
 */
final class StoreOption {
    @Option(names = "--store", description = "Where beat's entries live: redis (the broker's server, default), a "
            + "redis:// URL, or a jdbc: URL (PostgreSQL, MariaDB, H2; user/password from "
            + "CELERIAC_BEAT_DB_USER/PASSWORD). Required with a RabbitMQ broker (amqp://): beat records each due "
            + "time there before publishing it. The dashboard also takes none.")
    @Nullable String store;

    /** Whether {@code --store} was given. */
    boolean given() {
        return store != null;
    }

    /** {@code --store none}: the dashboard without a Schedules page. */
    boolean none() {
        return "none".equals(store);
    }

    /** Opens the store named, or the broker's Redis by default. */
    ScheduleStore open(CeleriacConfig config) {
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
