package io.celeriac.broker;

import java.time.Duration;
import java.util.List;

/**
 * Where a send is recorded before it is published, for brokers that cannot record a key and publish in one atomic
 * step (RabbitMQ): {@link LedgerOnceDispatch} records the key together with the message, publishes, then marks it
 * sent; what a crashed process left pending is found here and published again. A schedule store that can keep one
 * offers it through {@link io.celeriac.beat.ScheduleStore#dispatchLedger()}.
 *
 * <p>The contract ({@code DispatchLedgerContract} in core's test jar):
 * <ul>
 *   <li>{@link #record} is atomic: of any number of callers, in any number of processes, recording one key, exactly
 *       one gets {@code true}, and the message is stored with the key in that same step, never one without the
 *       other;</li>
 *   <li>a key is kept for its {@code keep}, sent or not, then forgotten (it may be recorded again);</li>
 *   <li>a pending record is handed out by {@link #claimPending} only once it has waited {@code idleFor} since it was
 *       recorded or last claimed, and claiming it restarts that wait, so two claimers do not take it together.</li>
 * </ul>
 *
 * <p>The message is stored in a transport-neutral form ({@link OutboundMessageCodec}): what {@link #claimPending}
 * hands back equals what was recorded. Ages are judged on the store's clock (a database store: its own
 * {@link java.time.Clock}; Redis: the server's).
 *
 * <p>Implementations are thread-safe. Their failures are unchecked: whether a failed call took effect is unknown.
 */
public interface DispatchLedger {
    /**
     * Records {@code onceKey} as pending, with the message to publish under it, kept for {@code keep}; refuses if
     * the key is already recorded and not yet expired. One atomic step.
     *
     * @return true if this call recorded the key, false if it was taken (nothing changed)
     */
    boolean record(String onceKey, Duration keep, OutboundMessage message);

    /**
     * Marks a record sent: its message is dropped, the key stays until it expires (so the send is not recorded
     * again). Does nothing if the key is unknown.
     */
    void markSent(String onceKey);

    /**
     * Claims, for publishing again, up to {@code max} records still pending that were recorded or last claimed at
     * least {@code idleFor} ago, those waiting longest first, and restarts their wait: a record claimed here is not handed to
     * another claimer before {@code idleFor} has passed again. A store may also drop expired records here.
     */
    List<PendingDispatch> claimPending(Duration idleFor, int max);

    /** Deletes a key and its message, sent or not, so that the next {@link #record} of it goes through. */
    void forget(String onceKey);
}
