package io.celeriac.redis;

import io.celeriac.broker.Delivery;
import io.celeriac.protocol.BrokerMessage;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A delivery from Redis. It keeps the envelope exactly as it was stored, because settling it puts those bytes back
 * (requeue, defer, dead letter): a message goes back to its list unchanged, whatever it holds that we do not read.
 *
 * @param raw kombu's JSON envelope, as reserved
 */
record RedisDelivery(String queue, BrokerMessage message, String ackToken, int priority, String raw)
        implements Delivery {
    RedisDelivery {
        Objects.requireNonNull(queue, "queue");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(ackToken, "ackToken");
        Objects.requireNonNull(raw, "raw");
    }

    /** The delivery as this broker handed it out; anything else never came from Redis. */
    static RedisDelivery of(Delivery d) {
        if (d instanceof RedisDelivery r) {
            return r;
        }
        throw new IllegalArgumentException("not a delivery of the Redis broker: " + d);
    }

    // One delivery per tag: comparing by it keeps the worker's sets of deliveries cheap (no message hashing).
    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof RedisDelivery d && ackToken.equals(d.ackToken) && queue.equals(d.queue);
    }

    @Override
    public int hashCode() {
        return ackToken.hashCode();
    }

    @Override
    public String toString() {
        return "RedisDelivery[" + queue + ", " + ackToken + "]";
    }
}
