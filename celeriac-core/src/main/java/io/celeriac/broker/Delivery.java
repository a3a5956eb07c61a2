package io.celeriac.broker;

import io.celeriac.protocol.BrokerMessage;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One message handed to a consumer by {@link Broker#reserve}. Until it is acked, requeued, deferred or
 * dead-lettered, the broker keeps it recoverable.
 *
 * <p>A broker may hand out its own implementation, carrying what it needs to settle the delivery (the raw stored
 * message, a channel and its delivery tag); deliveries go back only to the broker that handed them out.
 */
public interface Delivery {
    /** The queue it came from. */
    String queue();

    /** The message, as published. */
    BrokerMessage message();

    /** The broker's key for this delivery (kombu on Redis: the {@code delivery_tag}), for logs and bookkeeping. */
    String ackToken();

    /** The priority it was served at, in the broker's terms (0, 3, 6, 9 on Redis). */
    int priority();

    /** A delivery made of these parts, for brokers that need nothing more. */
    static Delivery of(String queue, BrokerMessage message, String ackToken, int priority) {
        return new Plain(queue, message, ackToken, priority);
    }

    /** The plain delivery of {@link #of}. */
    record Plain(String queue, BrokerMessage message, String ackToken, int priority) implements Delivery {
        public Plain {
            Objects.requireNonNull(queue, "queue");
            Objects.requireNonNull(message, "message");
            Objects.requireNonNull(ackToken, "ackToken");
        }

        // One delivery per token: comparing by it keeps the worker's sets of deliveries cheap (no message hashing).
        @Override
        public boolean equals(@Nullable Object o) {
            return o instanceof Plain p && ackToken.equals(p.ackToken) && queue.equals(p.queue);
        }

        @Override
        public int hashCode() {
            return ackToken.hashCode();
        }
    }
}
