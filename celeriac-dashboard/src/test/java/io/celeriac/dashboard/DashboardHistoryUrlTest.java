package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Choosing the history store from {@code historyUrl}; nothing is connected while choosing. */
class DashboardHistoryUrlTest {
    private final Celeriac memory = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl("memory://")
            .resultBackend("memory://").build()).build();

    @AfterEach
    void close() {
        memory.close();
    }

    private Dashboard build(Celeriac app, String url) {
        return Dashboard.builder(app).port(0).historyUrl(url).user("ops", "pw", Role.ADMIN).build();
    }

    @Test
    void withNoUrlABrokerThatIsNotRedisKeepsTheHistoryInMemoryAndSaysSo() {
        try (Dashboard d = build(memory, null)) {
            assertThat(d.historyStore().load(10)).isEmpty();
            assertThat(d.historyStore()).isNotInstanceOf(RedisHistoryStore.class)
                    .isNotInstanceOf(JdbcHistoryStore.class);
            assertThat(d.notices()).anyMatch(n -> n.contains("kept in memory only"));
        }
        try (Dashboard d = build(memory, "none")) {
            assertThat(d.notices()).anyMatch(n -> n.contains("kept in memory only"));
        }
    }

    @Test
    void withNoUrlARedisBrokerKeepsTheHistoryInItsRedis() {
        // Nothing listens there: the store connects on first use, so choosing it needs no Redis.
        Celeriac redis = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl("redis://127.0.0.1:1/0")
                .resultBackend("memory://").build()).build();
        try (redis; Dashboard d = build(redis, "")) {
            assertThat(d.historyStore()).isInstanceOf(RedisHistoryStore.class);
            assertThat(d.notices()).noneMatch(n -> n.contains("memory only"));
        }
    }

    @Test
    void aJdbcUrlKeepsTheHistoryInThatDatabase() {
        try (Dashboard d = build(memory, "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1")) {
            assertThat(d.historyStore()).isInstanceOf(JdbcHistoryStore.class);
            assertThat(d.notices()).noneMatch(n -> n.contains("memory only"));
        }
    }

    @Test
    void aRedisUrlKeepsTheHistoryInThatRedis() {
        try (Dashboard d = build(memory, "redis://127.0.0.1:1/3")) {
            assertThat(d.historyStore()).isInstanceOf(RedisHistoryStore.class);
        }
    }

    @Test
    void theBrokersRedisNeedsARedisBrokerAndUnknownUrlsAreRefused() {
        assertThatThrownBy(() -> build(memory, "redis")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the broker is memory://");
        assertThatThrownBy(() -> build(memory, "mongodb://x/y")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("jdbc:postgresql://");
    }

    @Test
    void aDatabaseThatIsDownIsAnOutageToWaitFor() {
        // A port nothing listens on: building and starting work; the first use says the store cannot be reached.
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try (Dashboard d = build(memory, "jdbc:postgresql://127.0.0.1:" + port + "/x?user=u&password=secret")) {
            assertThatThrownBy(() -> d.historyStore().load(10)).isInstanceOf(HistoryStoreUnavailableException.class)
                    .hasMessageContaining("cannot be reached").hasMessageNotContaining("secret");
        }
    }
}
