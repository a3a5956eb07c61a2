package io.celeriac.dashboard;

import io.celeriac.testing.MariaDbServerExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.concurrent.atomic.AtomicInteger;

class MariaDbHistoryStoreIT extends HistoryStoreContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private String url;

    @Override
    HistoryStore newStore() {
        url = MARIADB.jdbcUrl("history" + DATABASES.incrementAndGet());
        return JdbcHistoryStore.open(url, "root", null);
    }

    @Override
    HistoryStore reopen() {
        return JdbcHistoryStore.open(url, "root", null);
    }
}
