package io.celeriac.broker;

import java.util.List;

/**
 * Browsing and mending the dead-letter queue that {@link Broker#deadLetter} fills: what the dashboard's "Failed" page
 * and {@code celeriac queues} show. A broker offers it through {@link Broker#deadLetterQueue()}.
 */
public interface DeadLetterQueue {
    /** The dead letters, newest first. */
    List<DeadLetter> list(int limit);

    /** How many dead letters there are, without reading them. */
    long count();

    /**
     * Puts a dead letter back on its queue, unchanged (byte for byte, also what was not a readable message); false
     * if no such record.
     */
    boolean requeue(String id);

    /** Drops a dead letter; false if no such record. */
    boolean discard(String id);
}
