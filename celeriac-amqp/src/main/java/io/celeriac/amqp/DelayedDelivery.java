package io.celeriac.amqp;

import com.rabbitmq.client.Channel;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * Where {@link AmqpBroker#defer} puts a message until its ETA, with RabbitMQ alone (no plugin): the layout of
 * kombu's native delayed delivery ({@code kombu/transport/native_delayed_delivery.py}, kombu 5.5), under our own
 * names and on classic queues. A delay of {@code d} seconds is written in binary into the routing key, one word per
 * bit from 2^27 down to 2^0, followed by the target queue: {@code 0.0.….1.0.1.celery}. Level {@code i} is a topic
 * exchange and a queue with {@code x-message-ttl} 2^i s: a message whose bit {@code i} is 1 waits in the queue and
 * is then dead-lettered to level {@code i-1}; one whose bit is 0 is passed on by an exchange-to-exchange binding.
 * Level 0 leads to the delivery exchange, where each target queue is bound by its own name after 28 bit words.
 *
 * <p>Every message in one level queue has the same TTL, so RabbitMQ's expiry at the head of a queue keeps them in
 * due order whatever their ETAs; a message waits at most 2^28-1 s (8.5 years) in one pass and a worker that gets it
 * early defers it again. The resolution is one second, rounded up, so nothing arrives early because of rounding.
 *
 * <p>Our names, not kombu's {@code celery_delayed_*}: kombu declares those as quorum queues (and only when Celery's
 * queues are quorum queues), and a classic declaration of the same name would fail. Dead-lettering between classic
 * queues is at most once: a RabbitMQ crash at the moment a message moves between levels can drop it (kombu's
 * quorum variant uses {@code x-dead-letter-strategy: at-least-once}); docs/amqp.md says so.
 */
final class DelayedDelivery {
    static final int LEVELS = 28;
    static final String DELIVERY_EXCHANGE = "celeriac_delayed_delivery";
    static final long MAX_SECONDS = (1L << LEVELS) - 1;

    private DelayedDelivery() {
    }

    static String level(int i) {
        return "celeriac_delayed_" + i;
    }

    /** The exchange a delayed message is published to: the top level. */
    static String entry() {
        return level(LEVELS - 1);
    }

    /** The routing key that carries {@code delay} (rounded up to whole seconds) and the target queue. */
    static String routingKey(Duration delay, String queue) {
        long seconds = delay.isNegative() ? 0 : delay.getSeconds() + (delay.getNano() > 0 ? 1 : 0);
        seconds = Math.min(seconds, MAX_SECONDS);
        StringBuilder key = new StringBuilder(LEVELS * 2 + queue.length());
        for (int bit = LEVELS - 1; bit >= 0; bit--) {
            key.append((seconds >>> bit) & 1).append('.');
        }
        return key.append(queue).toString();
    }

    /** The binding key of a target queue on the delivery exchange: any 28 bit words, then the queue's name. */
    static String targetBinding(String queue) {
        return "*.".repeat(LEVELS) + queue;
    }

    /** Declares the levels and the delivery exchange, as kombu's {@code declare_native_delayed_delivery_*}. */
    static void declare(Channel channel) throws IOException {
        String queueKey = "1.#";
        for (int level = LEVELS - 1; level >= 0; level--) {
            String name = level(level);
            channel.exchangeDeclare(name, "topic", true, false, null);
            channel.queueDeclare(name, true, false, false, Map.of(
                    "x-message-ttl", (1L << level) * 1000,
                    "x-dead-letter-exchange", level > 0 ? level(level - 1) : DELIVERY_EXCHANGE));
            channel.queueBind(name, name, queueKey);
            queueKey = "*." + queueKey;
        }
        channel.exchangeDeclare(DELIVERY_EXCHANGE, "topic", true, false, null);
        String passKey = "0.#";
        for (int level = LEVELS - 1; level >= 0; level--) {
            // Bit `level` is 0: on to the next level down (the delivery exchange after level 0) without waiting.
            channel.exchangeBind(level > 0 ? level(level - 1) : DELIVERY_EXCHANGE, level(level), passKey);
            passKey = "*." + passKey;
        }
    }

    /** Binds a target queue to the delivery exchange; idempotent. */
    static void bindTarget(Channel channel, String queue) throws IOException {
        channel.queueBind(queue, DELIVERY_EXCHANGE, targetBinding(queue));
    }
}
