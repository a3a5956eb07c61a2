package io.celeriac.jdbc;

import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.DispatchLedgerContract;
import io.celeriac.fixtures.MutableClock;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;

class PostgresDispatchLedgerIT extends DispatchLedgerContract {
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private DispatchLedger ledger;

    @Override
    protected synchronized DispatchLedger ledger() {
        if (ledger == null) {
            ledger = new JdbcScheduleStore(POSTGRES.freshDataSource(), clock).dispatchLedger().orElseThrow();
        }
        return ledger;
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }
}
