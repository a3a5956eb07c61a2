package io.celeriac.jdbc;

import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.DispatchLedgerContract;
import io.celeriac.fixtures.MutableClock;
import org.h2.jdbcx.JdbcDataSource;

import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

class H2DispatchLedgerTest extends DispatchLedgerContract {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private DispatchLedger ledger;

    @Override
    protected synchronized DispatchLedger ledger() {
        if (ledger == null) {
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
            ledger = new JdbcScheduleStore(ds, clock).dispatchLedger().orElseThrow();
        }
        return ledger;
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }
}
