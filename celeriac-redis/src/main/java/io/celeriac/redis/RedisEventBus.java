package io.celeriac.redis;

import io.celeriac.broker.EventBus;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Celery's events on Redis as kombu's fanout lays them out: each event is published on the channel
 * {@code /<db>.celeryev/<routing key>} in a kombu envelope, which {@code celery events} and Flower read
 * ({@code celeryev} is Celery's {@code event_exchange}; the queue TTL and expiry settings are RabbitMQ's and not used
 * here: events are pub/sub messages, kept nowhere).
 */
final class RedisEventBus implements EventBus {
    private static final Logger log = LoggerFactory.getLogger(RedisEventBus.class);

    private final RedisConnector redis;
    private final RedisPubSub pubsub;
    private final MessageCodec codec;
    private final KombuEnvelope kombu;
    private final String exchange;
    private final String prefix;

    RedisEventBus(RedisConnector redis, RedisPubSub pubsub, MessageCodec codec, KombuEnvelope kombu, int db,
                  String eventExchange, RedisKeys keys) {
        this.redis = redis;
        this.pubsub = pubsub;
        this.codec = codec;
        this.kombu = kombu;
        this.exchange = eventExchange;
        this.prefix = keys.channel("/" + db + "." + eventExchange + "/");
    }

    @Override
    public void publish(String routingKey, String hostname, Object body) {
        Map<String, Object> headers = Map.of("hostname", hostname);
        String envelope = kombu.encode(BrokerMessage.json(codec.writeJson(body), headers,
                RedisPidbox.properties(1, exchange, routingKey)));
        redis.connectionFor(prefix + routingKey).async().publish(prefix + routingKey, envelope);
    }

    @Override
    public AutoCloseable subscribe(Consumer<Map<String, Object>> listener) {
        return pubsub.psubscribe(prefix + "*", message -> onEvent(message, listener));
    }

    @SuppressWarnings("unchecked")
    private void onEvent(String message, Consumer<Map<String, Object>> listener) {
        Object body;
        try {
            body = codec.readJsonBody(kombu.decode(message));
        } catch (RuntimeException e) {
            log.debug("ignoring an event that does not parse: {}", e.toString());
            return;
        }
        List<Object> events = body instanceof List<?> l ? (List<Object>) l : List.of(body);
        for (Object e : events) {
            if (e instanceof Map<?, ?> m) {
                listener.accept((Map<String, Object>) m);
            }
        }
    }
}
