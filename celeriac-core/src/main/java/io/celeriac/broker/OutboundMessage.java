package io.celeriac.broker;

import java.time.Instant;
import java.util.Objects;

/**
 * A task message ready to publish.
 *
 * @param queue the queue (kombu: the routing key on the default direct exchange)
 * @param priority 0-9, already clamped; kombu's Redis transport turns it into a priority sub-queue
 * @param payload the encoded kombu envelope (see {@code MessageCodec})
 * @param taskId the task id, for errors and bookkeeping
 * @param eta the task's ETA (also in the message's {@code eta} header); see {@link Broker#publish} for what a
 *     broker does with a future one
 */
public record OutboundMessage(String queue, int priority, String payload, String taskId, Instant eta) {
    public OutboundMessage {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(payload, "payload");
        if (priority < 0 || priority > 9) {
            throw new IllegalArgumentException("priority must be 0-9, was " + priority);
        }
    }
}
