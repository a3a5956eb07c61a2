package io.celeriac.broker;

import java.util.Objects;

/**
 * One message handed to a worker by {@link Broker#reserve}. Until it is acked, requeued, deferred or dead-lettered,
 * the broker keeps it recoverable (visibility timeout).
 *
 * @param queue the queue it came from
 * @param payload the raw envelope text, exactly as stored; the worker decodes it (and dead-letters what won't)
 * @param ackToken the broker's key for this delivery (kombu: the envelope's {@code delivery_tag})
 * @param priority the priority sub-queue it was taken from (0, 3, 6, 9 on Redis)
 */
public record Delivery(String queue, String payload, String ackToken, int priority) {
    public Delivery {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(ackToken, "ackToken");
    }
}
