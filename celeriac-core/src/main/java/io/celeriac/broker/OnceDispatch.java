package io.celeriac.broker;

import java.time.Duration;

/**
 * Publishing at most once per key: beat sends each (entry, due time) exactly once whichever beat process sends it,
 * and unique tasks are refused while one with the same key is pending. A broker offers it through
 * {@link Broker#onceDispatch()} when it can record the key and publish in one atomic step (Redis, in memory). Where
 * it cannot (RabbitMQ), {@link LedgerOnceDispatch} records the key in a {@link DispatchLedger} and then publishes:
 * recorded exactly once, published at least once (see there).
 */
public interface OnceDispatch {
    /**
     * Publishes a message unless one was already published under {@code onceKey} within {@code keep}; the check, the
     * record and the publish are one atomic step.
     *
     * @return true if this call published, false if the key was already taken
     * @throws BrokerUnavailableException if the broker could not be reached (the outcome is then unknown)
     */
    boolean publishOnce(String onceKey, Duration keep, OutboundMessage message);

    /** Deletes a key, so the next publish under it goes through (a unique task that finished). */
    void forget(String onceKey);
}
