package io.celeriac.redis;

import io.celeriac.broker.ControlBus;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.KeyValue;
import io.lettuce.core.api.StatefulConnection;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;

/**
 * Celery's remote control on Redis, as kombu's pidbox lays it out: commands are published on the fanout channel
 * {@code /<db>.celery.pidbox}; a command that wants replies names a reply queue, a list
 * {@code <id>.reply.celery.pidbox} bound to {@code reply.celery.pidbox}, into which each worker pushes
 * {@code {hostname: answer}}. {@code celery} is Celery's {@code control_exchange}, the mailbox's namespace
 * ({@code kombu/pidbox.py} {@code Mailbox.exchange_fmt}, {@code reply_exchange_fmt}); the queue TTL and expiry
 * settings are RabbitMQ's and not used here.
 */
final class RedisPidbox implements ControlBus {
    private static final Logger log = LoggerFactory.getLogger(RedisPidbox.class);

    private final RedisConnector redis;
    private final RedisPubSub pubsub;
    private final MessageCodec codec;
    private final KombuEnvelope kombu;
    private final DoubleSupplier now;
    /** {@code <control_exchange>.pidbox}: the commands' fanout exchange. */
    private final String exchange;
    /** {@code reply.<control_exchange>.pidbox}: the replies' direct exchange. */
    private final String replyExchange;
    /** kombu's pub/sub channel for the fanout exchange. */
    private final String channel;
    private final AtomicLong clock = new AtomicLong();
    /** kombu's key space: where the reply lists and their bindings are. */
    private final RedisKeys keys;

    RedisPidbox(RedisConnector redis, RedisPubSub pubsub, MessageCodec codec, KombuEnvelope kombu, DoubleSupplier now,
                int db, String controlExchange, RedisKeys keys) {
        this.redis = redis;
        this.pubsub = pubsub;
        this.codec = codec;
        this.kombu = kombu;
        this.now = now;
        this.exchange = controlExchange + ".pidbox";
        this.replyExchange = "reply." + controlExchange + ".pidbox";
        this.channel = keys.channel("/" + db + "." + exchange);
        this.keys = keys;
    }

    /** kombu's properties for a fanout or reply message. */
    static Map<String, Object> properties(int deliveryMode, String exchange, String routingKey) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("delivery_mode", deliveryMode);
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("exchange", exchange);
        info.put("routing_key", routingKey);
        p.put("delivery_info", info);
        p.put("priority", 0);
        p.put("delivery_tag", UUID.randomUUID().toString());
        return p;
    }

    @Override
    public void broadcast(ControlMessage message) {
        Map<String, Object> body = message.celeryBody(replyExchange);
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("clock", clock.incrementAndGet());
        headers.put("expires", now.getAsDouble() + 10);
        String envelope = kombu.encode(BrokerMessage.json(codec.writeJson(body), headers,
                properties(2, exchange, "")));
        try {
            redis.connectionFor(channel).sync().publish(channel, envelope);
        } catch (RuntimeException e) {
            throw redis.unavailable("Broadcasting " + message.method(), e);
        }
    }

    @Override
    public AutoCloseable subscribe(Consumer<ControlMessage> listener) {
        return pubsub.subscribe(channel, raw -> {
            ControlMessage m = parse(raw);
            if (m != null) {
                listener.accept(m);
            }
        });
    }

    private @Nullable ControlMessage parse(String raw) {
        try {
            return ControlMessage.fromCeleryBody(codec.readJsonBody(kombu.decode(raw)));
        } catch (RuntimeException ex) {
            log.debug("ignoring a pidbox message that does not parse: {}", ex.toString());
            return null;
        }
    }

    @Override
    public void reply(ControlMessage request, String hostname, Object answer) {
        if (request.replyTo() == null) {
            return;
        }
        Map<String, Object> body = ControlMessage.replyBody(hostname, answer);
        Map<String, Object> headers = request.replyHeaders(clock.incrementAndGet());
        String envelope = kombu.encode(BrokerMessage.json(codec.writeJson(body), headers,
                properties(1, replyExchange, request.replyTo())));
        String replyQueue = keys.channel(request.replyTo() + "." + replyExchange);
        redis.connectionFor(replyQueue).sync().lpush(replyQueue, envelope);
    }

    @Override
    public List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
        String replyId = UUID.randomUUID().toString();
        String ticket = UUID.randomUUID().toString();
        String binding = replyId + RedisBroker.SEP + RedisBroker.SEP + replyId + "." + replyExchange;
        String replyQueue = keys.channel(replyId + "." + replyExchange);
        List<Map<String, Object>> replies = new ArrayList<>();
        StatefulConnection<String, String> blocking = redis.openDedicated();
        String bindings = keys.binding(replyExchange);
        try {
            redis.connectionFor(bindings).sync().sadd(bindings, binding);
            broadcast(new ControlMessage(message.method(), message.arguments(), message.destination(), ticket,
                    replyId));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                KeyValue<String, String> kv = RedisConnector.async(blocking).brpop(Math.max(0.01, left / 1e9),
                        replyQueue).get(RedisConnector.COMMAND_TIMEOUT.toMillis() + left / 1_000_000,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                if (kv == null || !kv.hasValue()) {
                    continue;
                }
                BrokerMessage reply = kombu.decode(kv.getValue());
                if (ticket.equals(String.valueOf(reply.headers().get("ticket")))) {
                    replies.add(asMap(codec.readJsonBody(reply)));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw redis.unavailable("Collecting replies to " + message.method() + " (interrupted)", e);
        } catch (RuntimeException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            throw redis.unavailable("Collecting replies to " + message.method(), e);
        } finally {
            try {
                redis.connectionFor(bindings).sync().srem(bindings, binding);
                redis.connectionFor(replyQueue).sync().del(replyQueue);
            } catch (RuntimeException e) {
                log.debug("cleanup of reply queue failed: {}", e.toString());
            }
            blocking.close();
        }
        return replies;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object v) {
        if (v instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new io.celeriac.protocol.MessageRejectedException("refused: not a JSON object");
    }
}
