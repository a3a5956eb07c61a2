package io.celeriac.broker;

import io.celeriac.fixtures.MutableClock;

import java.time.Duration;
import java.time.Instant;

class InMemoryDispatchLedgerTest extends DispatchLedgerContract {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private final InMemoryDispatchLedger ledger = new InMemoryDispatchLedger(clock);

    @Override
    protected DispatchLedger ledger() {
        return ledger;
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }
}
