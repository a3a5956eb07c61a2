package io.celeriac.jdbc;

import io.celeriac.testing.MariaDbServerExtension;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.DispatchLedgerContract;
import io.celeriac.fixtures.MutableClock;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;

class MariaDbDispatchLedgerIT extends DispatchLedgerContract {
    @RegisterExtension
    static final MariaDbServerExtension MARIADB = new MariaDbServerExtension();

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private DispatchLedger ledger;

    @Override
    protected synchronized DispatchLedger ledger() {
        if (ledger == null) {
            ledger = new JdbcScheduleStore(MARIADB.freshDataSource(), clock).dispatchLedger().orElseThrow();
        }
        return ledger;
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }
}
