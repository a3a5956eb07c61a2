package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import io.celeriac.broker.Delivery;
import io.celeriac.protocol.BrokerMessage;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A delivery from RabbitMQ: the channel it came on ({@link Inbox}) and its delivery tag there, which is all an ack
 * needs, plus the properties and body as received, which defer and dead-letter republish unchanged. A delivery
 * tag means something only on its channel; once that channel is gone RabbitMQ has put the message back, and
 * settling the delivery is a no-op.
 */
final class AmqpDelivery implements Delivery {
    private final String queue;
    private final @Nullable BrokerMessage message;
    private final Inbox inbox;
    private final long tag;
    private final String ackToken;
    final AMQP.BasicProperties properties;
    final byte[] body;
    /** Why it cannot be handed out (not UTF-8, too large, ...), or null for a readable message. */
    final @Nullable String refusal;
    /** Set once acked: a delivery acked before its channel closed can still be dead-lettered (acks early). */
    volatile boolean acked;

    AmqpDelivery(String queue, @Nullable BrokerMessage message, Inbox inbox, long tag, AMQP.BasicProperties properties,
                 byte[] body, @Nullable String refusal) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.message = message;
        this.inbox = inbox;
        this.tag = tag;
        this.ackToken = token(inbox, tag);
        this.properties = properties;
        this.body = body;
        this.refusal = refusal;
    }

    static String token(Inbox inbox, long tag) {
        return inbox.id() + "." + tag;
    }

    static AmqpDelivery of(Delivery d) {
        if (d instanceof AmqpDelivery a) {
            return a;
        }
        throw new IllegalArgumentException("not a delivery of the AMQP broker: " + d);
    }

    Inbox inbox() {
        return inbox;
    }

    long tag() {
        return tag;
    }

    @Override
    public String queue() {
        return queue;
    }

    @Override
    public BrokerMessage message() {
        return message;
    }

    @Override
    public String ackToken() {
        return ackToken;
    }

    /** RabbitMQ's priority: the message's own (higher is served first), 0 when it has none. */
    @Override
    public int priority() {
        Integer p = properties.getPriority();
        return p == null ? 0 : p;
    }

    // One delivery per token: comparing by it keeps the worker's sets of deliveries cheap (no message hashing).
    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof AmqpDelivery d && ackToken.equals(d.ackToken);
    }

    @Override
    public int hashCode() {
        return ackToken.hashCode();
    }

    @Override
    public String toString() {
        return "AmqpDelivery[" + queue + ", " + ackToken + "]";
    }
}
