package io.celeriac.broker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * Publishing once per key on any {@link Broker}, with a {@link DispatchLedger} where the broker cannot record a key and
 * publish in one atomic step (RabbitMQ): the key is recorded together with the message, then the message is
 * published ({@link Broker#publish} returns once the broker has it: on RabbitMQ, after the publisher confirm), then the
 * record is marked sent. {@link #relayPending} publishes what a process left recorded but not marked sent.
 *
 * <p>What it guarantees, for each key:
 * <ul>
 *   <li><b>recorded exactly once</b>: of any number of callers, in any number of processes, one records the key and
 *       publishes; the others get {@code false} and publish nothing;</li>
 *   <li><b>published at least once</b>: a process that dies after recording and before marking sent leaves the
 *       record pending, and a relay publishes it;</li>
 *   <li><b>a duplicate is the same task</b>: the message is published twice only if the process that recorded it
 *       stopped between the broker's confirm and the mark-sent (died, or lost the ledger just then, or stalled there
 *       for longer than the relay waits) and a relay sent the recorded message again: same task id, same body.</li>
 * </ul>
 * A publish that fails takes the record back ({@link DispatchLedger#forget}) before the failure is thrown, so the
 * key is free for the caller's retry, as after a failed atomic publish on Redis; if the broker got the message all
 * the same (a confirm that was lost), that retry sends the same task id again.
 *
 * <p>Thread-safe if the ledger and broker are.
 */
public final class LedgerOnceDispatch implements OnceDispatch {
    private static final Logger log = LoggerFactory.getLogger(LedgerOnceDispatch.class);

    private final DispatchLedger ledger;
    private final Broker broker;

    public LedgerOnceDispatch(DispatchLedger ledger, Broker broker) {
        this.ledger = ledger;
        this.broker = broker;
    }

    public DispatchLedger ledger() {
        return ledger;
    }

    /**
     * Records the key with the message, publishes it, marks it sent.
     *
     * @return true if this call recorded and published, false if the key was already recorded (nothing published)
     * @throws BrokerUnavailableException if the publish failed: the record was taken back (if the ledger could be
     *     reached; otherwise it stays pending and is relayed) and the message may or may not have been queued
     * @throws RuntimeException the ledger's failure, if it could not record: nothing was published
     */
    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        if (!ledger.record(onceKey, keep, message)) {
            return false;
        }
        try {
            broker.publish(List.of(message));
        } catch (RuntimeException e) {
            try {
                ledger.forget(onceKey);
            } catch (RuntimeException f) {
                // Left pending: the relay publishes it later, which is what the caller wanted anyway.
                e.addSuppressed(f);
            }
            throw e;
        }
        markSent(onceKey, message);
        return true;
    }

    private void markSent(String onceKey, OutboundMessage message) {
        try {
            ledger.markSent(onceKey);
        } catch (RuntimeException e) {
            // The broker has it; the record stays pending and a relay will publish it again (the same task id).
            log.warn("Published {} (task {}) but could not mark it sent ({}): a relay will publish it again",
                    onceKey, message.taskId(), e.toString());
        }
    }

    @Override
    public void forget(String onceKey) {
        ledger.forget(onceKey);
    }

    /**
     * Publishes, and marks sent, up to {@code max} records left pending for at least {@code idleFor} (see
     * {@link DispatchLedger#claimPending}). {@code idleFor} must outlast the longest a live process takes between
     * recording and marking sent, or its send is doubled: one publish, bounded by the broker's confirm timeout.
     *
     * @return how many records were published
     * @throws BrokerUnavailableException at the first publish that fails; that record and those not reached yet stay
     *     pending, to be claimed again once {@code idleFor} has passed
     */
    public int relayPending(Duration idleFor, int max) {
        List<PendingDispatch> pending = ledger.claimPending(idleFor, max);
        for (PendingDispatch p : pending) {
            broker.publish(List.of(p.message()));
            log.warn("Relayed {} (task {}), recorded at {} and left unsent by a process that stopped before "
                    + "marking it sent", p.onceKey(), p.message().taskId(), p.recordedAt());
            markSent(p.onceKey(), p.message());
        }
        return pending.size();
    }
}
