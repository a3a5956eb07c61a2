package io.celeriac.dashboard;

import io.celeriac.jdbc.JdbcScheduleStore;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class H2HistoryStoreTest extends HistoryStoreContract {
    private String url;

    @Override
    HistoryStore newStore() {
        url = "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
        return JdbcHistoryStore.open(url, null, null);
    }

    @Override
    HistoryStore reopen() {
        return JdbcHistoryStore.open(url, null, null);
    }

    @Test
    void sharesADatabaseWithTheResultBackendAndBeat() {
        // celeriac-jdbc's tables first: our history table must still be created (Flyway would baseline past it).
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        JdbcScheduleStore.migrate(ds);
        HistoryStore shared = track(new JdbcHistoryStore(ds));
        shared.save(List.of(record("a", 1)));
        assertThat(ids(shared.load(10))).containsExactly("a");
    }
}
