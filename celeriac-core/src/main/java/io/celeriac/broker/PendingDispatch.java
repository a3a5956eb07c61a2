package io.celeriac.broker;

import java.time.Instant;
import java.util.Objects;

/**
 * A send recorded in a {@link DispatchLedger} and not yet marked sent.
 *
 * @param onceKey the key it was recorded under
 * @param message the message to publish, as recorded
 * @param recordedAt when it was recorded, on the ledger's clock
 */
public record PendingDispatch(String onceKey, OutboundMessage message, Instant recordedAt) {
    public PendingDispatch {
        Objects.requireNonNull(onceKey, "onceKey");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(recordedAt, "recordedAt");
    }
}
