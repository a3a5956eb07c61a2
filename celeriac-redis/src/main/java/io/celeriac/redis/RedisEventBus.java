package io.celeriac.redis;

import io.celeriac.broker.EventBus;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
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
        publishJson(routingKey, hostname, codec.writeJsonBytes(body));
    }

    @Override
    public void publishJson(String routingKey, String hostname, byte[] json) {
        Map<String, Object> headers = Map.of("hostname", hostname);
        // Written as bytes throughout: a batch of task events is some 20 kB, and as text it was copied out of the
        // JSON writer, encoded to UTF-8, base64'd, copied into the envelope's text and encoded again by the client.
        byte[] envelope = kombu.encodeBytes(new BrokerMessage(json, "application/json", "utf-8", headers,
                RedisPidbox.properties(1, exchange, routingKey)));
        // On the shared text connection, as before, not the bytes one: that one carries the consumer's reserve calls,
        // which must not queue behind a large publish. CommandArgs.add(byte[]) sends the bytes as they are.
        String channel = prefix + routingKey;
        redis.connectionFor(channel).async().dispatch(CommandType.PUBLISH, new IntegerOutput<>(StringCodec.UTF8),
                new CommandArgs<>(StringCodec.UTF8).addKey(channel).add(envelope));
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
