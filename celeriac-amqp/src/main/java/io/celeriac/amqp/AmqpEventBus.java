package io.celeriac.amqp;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.EventBus;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Celery's monitoring events on RabbitMQ, laid out as Celery 5.2 and kombu 5.2 do it, so that {@code celery events},
 * Flower and Celery's {@code EventReceiver} see Celeriac's workers, and our dashboard sees Python's:
 * <ul>
 *   <li>the exchange is {@code celeryev} ({@code event_exchange}), type topic, durable, not auto-deleted
 *       ({@code celery/events/event.py} {@code event_exchange} and {@code get_exchange}: topic on every transport
 *       but Redis; durability is kombu's {@code Exchange} default, {@code kombu/entity.py});
 *   <li>an event is published there with routing key = its type with '-' turned into '.' ({@code worker.heartbeat},
 *       {@code task.succeeded}), or {@code task.multi} for a buffered list of task events; JSON body, header
 *       {@code hostname}, delivery mode 1 (transient), priority 0 ({@code celery/events/dispatcher.py}
 *       {@code EventDispatcher.__init__} and {@code _publish}, {@code kombu/messaging.py} {@code Producer.publish});
 *   <li>a receiver declares its own queue {@code celeryev.<uuid>} ({@code event_queue_prefix}), not durable,
 *       auto-deleted, with {@code x-message-ttl} = {@code event_queue_ttl} (5.0 s by default) and {@code x-expires}
 *       = {@code event_queue_expires} (60.0 s), each left out when None, bound with routing key {@code #}, and
 *       consumes without acks ({@code celery/events/receiver.py} {@code EventReceiver.__init__} and
 *       {@code get_consumers}; {@code kombu/transport/base.py} {@code to_rabbitmq_queue_arguments} turns seconds into
 *       integer ms).
 * </ul>
 * Only the receiver declares its queue, so its arguments cannot conflict with another client's; the exchange is
 * shared and declared exactly as Celery declares it, under the name both sides must be given.
 */
final class AmqpEventBus implements EventBus {
    private static final Logger log = LoggerFactory.getLogger(AmqpEventBus.class);
    private final MonitorLink link;
    private final MessageCodec codec;
    private final MonitorLink.Exchange exchange;
    private final String queuePrefix;
    private final Map<String, Object> queueArguments;

    /** Events on {@code event_exchange}; receivers' queues named and declared from the other event settings. */
    AmqpEventBus(MonitorLink link, MessageCodec codec, CeleriacConfig config) {
        this.link = link;
        this.codec = codec;
        this.exchange = new MonitorLink.Exchange(config.eventExchange(), "topic", true);
        this.queuePrefix = config.eventQueuePrefix() + ".";
        this.queueArguments = MonitorLink.queueArguments(config.eventQueueTtl().orElse(null),
                config.eventQueueExpires().orElse(null));
    }

    @Override
    public void publish(String routingKey, String hostname, Object body) {
        publishJson(routingKey, hostname, codec.writeJsonBytes(body));
    }

    @Override
    public void publishJson(String routingKey, String hostname, byte[] json) {
        Map<String, Object> headers = new HashMap<>();
        headers.put("hostname", hostname);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("delivery_mode", 1);
        properties.put("priority", 0);
        link.publish(exchange, routingKey, new BrokerMessage(json, "application/json", "utf-8", headers, properties));
    }

    @Override
    public AutoCloseable subscribe(Consumer<Map<String, Object>> listener) {
        return link.consume("an event receiver", channel -> {
            exchange.declare(channel);
            String queue = queuePrefix + UUID.randomUUID();
            channel.queueDeclare(queue, false, false, true, queueArguments);
            channel.queueBind(queue, exchange.name(), "#");
            return queue;
        }, (props, body) -> onEvent(body, listener));
    }

    @SuppressWarnings("unchecked")
    private void onEvent(byte[] body, Consumer<Map<String, Object>> listener) {
        Object parsed;
        try {
            parsed = codec.readJson(MessageCodec.strictUtf8(body));
        } catch (RuntimeException e) {
            log.debug("ignoring an event that does not parse: {}", e.toString());
            return;
        }
        // Celery 4+ sends buffered task events as one list (routing key task.multi).
        List<?> events = parsed instanceof List<?> l ? l : java.util.Collections.singletonList(parsed);
        for (Object e : events) {
            if (e instanceof Map<?, ?> m) {
                listener.accept((Map<String, Object>) m);
            }
        }
    }
}
