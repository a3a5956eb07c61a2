package io.celeriac.broker;

import io.celeriac.protocol.BrokerMessage;

import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A task message ready to publish, with where it goes.
 *
 * @param queue the queue (kombu: the routing key on the default direct exchange)
 * @param priority 0-9, already clamped; a broker maps it onto its own priorities (kombu's Redis transport: priority
 *     sub-lists, lower served first)
 * @param message the message itself
 * @param taskId the task id, for errors and bookkeeping
 * @param eta the task's ETA (also in the message's {@code eta} header); see {@link Broker#publish} for what a
 *     broker does with a future one
 */
public record OutboundMessage(String queue, int priority, BrokerMessage message, @Nullable String taskId,
                              @Nullable Instant eta) {
    public OutboundMessage {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(message, "message");
        if (priority < 0 || priority > 9) {
            throw new IllegalArgumentException("priority must be 0-9, was " + priority);
        }
    }
}
