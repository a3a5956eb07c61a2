package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.redis.RedisUrl;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/** Opens the {@link HistoryStore} a history URL names ({@link Dashboard.Builder#historyUrl}). */
final class HistoryStoreUrl {
    private static final Logger log = LoggerFactory.getLogger(HistoryStoreUrl.class);

    private HistoryStoreUrl() {
    }

    /** The store {@code historyUrl} names (see {@link Dashboard.Builder#historyUrl}); notes a memory-only one. */
    static HistoryStore open(@Nullable String historyUrl, Celeriac app, List<String> notices) {
        String broker = app.config().brokerUrl();
        boolean redisBroker = isRedis(broker);
        String url = historyUrl == null ? "" : historyUrl.trim();
        String memoryOnly = "The task history is kept in memory only: a restart loses it. Set --history (or "
                + "celeriac.dashboard.history-url) to a jdbc: or redis:// URL to keep it.";
        if (url.isEmpty()) {
            if (redisBroker) {
                log.info("dashboard: task history in the broker's Redis at {}", ReconnectBackoff.redact(broker));
                return new RedisHistoryStore(broker, app.config().brokerTransportOptions());
            }
            log.info("dashboard: task history in memory only: the broker ({}) is not Redis and no history store "
                    + "is set (--history jdbc:postgresql://... or redis://...)", ReconnectBackoff.redact(broker));
            notices.add(memoryOnly);
            return HistoryStore.none();
        }
        if (url.equals("none") || url.equals("memory")) {
            log.info("dashboard: task history in memory only ({})", url);
            notices.add(memoryOnly);
            return HistoryStore.none();
        }
        if (url.equals("redis")) {
            if (!redisBroker) {
                throw new IllegalArgumentException("history 'redis' means the broker's Redis, but the broker is "
                        + ReconnectBackoff.redact(broker) + "; give a redis:// or jdbc: URL");
            }
            url = broker;
        }
        if (isRedis(url)) {
            log.info("dashboard: task history in Redis at {}", ReconnectBackoff.redact(url));
            return new RedisHistoryStore(url, app.config().brokerTransportOptions());
        }
        if (url.startsWith("jdbc:")) {
            // Credentials from the environment (or in the URL), not the command line, where `ps` would show them.
            return JdbcHistoryStore.open(url, System.getenv("CELERIAC_HISTORY_DB_USER"),
                    System.getenv("CELERIAC_HISTORY_DB_PASSWORD"));
        }
        throw new IllegalArgumentException("unknown history store '" + ReconnectBackoff.redact(url) + "': use "
                + "jdbc:postgresql://host/db (or jdbc:mariadb:, jdbc:h2:), redis://host:port/db, redis (the "
                + "broker's), or none");
    }

    private static boolean isRedis(String url) {
        return RedisUrl.isRedisUrl(url);
    }
}
