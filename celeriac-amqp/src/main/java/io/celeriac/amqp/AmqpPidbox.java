package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.ControlBus;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Celery's remote control on RabbitMQ, as kombu 5.2's {@code Mailbox} lays it out ({@code kombu/pidbox.py}) with
 * the settings Celery 5.2 gives it ({@code celery/app/control.py} {@code Control.__init__}: namespace
 * {@code control_exchange}, type fanout, {@code control_queue_ttl} and {@code control_queue_expires} for both the
 * node and the reply queues). Below with Celery's defaults ({@code celery/app/defaults.py}): namespace
 * {@code celery}, 300.0 s and 10.0 s; another namespace {@code ns} makes the names {@code ns.pidbox} and
 * {@code reply.ns.pidbox} ({@code Mailbox.exchange_fmt}, {@code reply_exchange_fmt}), and a None TTL or expiry
 * leaves its argument out.
 * <ul>
 *   <li>commands go to exchange {@code celery.pidbox}: fanout, not durable, not auto-deleted
 *       ({@code Mailbox._get_exchange}), routing key {@code ''}, delivery mode 2 and priority 0 (kombu's defaults
 *       for a publish naming the exchange by its name), headers {@code clock} and {@code expires} (unix time), body
 *       {@code {method, arguments, destination, pattern, matcher}} plus {@code ticket} and
 *       {@code reply_to {exchange, routing_key}} when replies are wanted ({@code Mailbox._publish});
 *   <li>each worker reads its own queue {@code <hostname>.celery.pidbox}: not durable, not exclusive, auto-deleted,
 *       {@code x-expires} 10000 ms, {@code x-message-ttl} 300000 ms, bound to {@code celery.pidbox} with routing key
 *       {@code ''} ({@code Mailbox.get_queue}), consumed without acks ({@code Node.Consumer}); a queue that already
 *       has a consumer means another node of the same name, which kombu warns about ({@code W_PIDBOX_IN_USE});
 *   <li>replies go to exchange {@code reply.celery.pidbox}: direct, not durable ({@code Mailbox._get_reply_exchange},
 *       {@code _publish_reply}), routing key = the caller's {@code reply_to.routing_key}, delivery mode 1, headers
 *       {@code ticket} and {@code clock}, body {@code {hostname: answer}};
 *   <li>a caller collects replies on {@code <oid>.reply.celery.pidbox}, bound to {@code reply.celery.pidbox} with
 *       routing key {@code <oid>}, with the node queue's flags and arguments ({@code Mailbox.get_reply_queue}),
 *       keeping those whose {@code ticket} header is its own and whose {@code expires} header, if any, has not
 *       passed ({@code Mailbox._collect}).
 * </ul>
 * The queues are each declared by one client only (a node's by that node, a reply queue by its caller), so their
 * arguments cannot conflict with Python's; the two exchanges are shared and declared exactly as kombu does.
 */
final class AmqpPidbox implements ControlBus {
    private static final Logger log = LoggerFactory.getLogger(AmqpPidbox.class);
    private final MonitorLink link;
    private final MessageCodec codec;
    private final Clock clock;
    /** {@code <control_exchange>.pidbox}: commands. */
    private final MonitorLink.Exchange exchange;
    /** {@code reply.<control_exchange>.pidbox}: replies. */
    private final MonitorLink.Exchange replyExchange;
    /** kombu's arguments for the node and reply queues, from {@code control_queue_ttl} and {@code _expires}. */
    private final Map<String, Object> queueArguments;
    /** kombu's Lamport clock, forwarded on each message sent. */
    private final AtomicLong lamport = new AtomicLong();

    AmqpPidbox(MonitorLink link, MessageCodec codec, Clock clock, CeleriacConfig config) {
        this.link = link;
        this.codec = codec;
        this.clock = clock;
        this.exchange = new MonitorLink.Exchange(config.controlExchange() + ".pidbox", "fanout", false);
        this.replyExchange = new MonitorLink.Exchange("reply." + config.controlExchange() + ".pidbox", "direct",
                false);
        this.queueArguments = MonitorLink.queueArguments(config.controlQueueTtl().orElse(null),
                config.controlQueueExpires().orElse(null));
    }

    /** The name of a node's mailbox queue, {@code <hostname>.<control_exchange>.pidbox} ({@code Mailbox.get_queue}). */
    String nodeQueue(String hostname) {
        return hostname + "." + exchange.name();
    }

    private double now() {
        return clock.millis() / 1000.0;
    }

    /** The next clock value, as py-amqp types a small int (32-bit) while it fits. */
    private Object tick() {
        long v = lamport.incrementAndGet();
        return v <= Integer.MAX_VALUE ? (Object) (int) v : (Object) v;
    }

    @Override
    public void broadcast(ControlMessage message) {
        // kombu's cast says 1 s; 10 s (as on Redis) so that a busy node's clock or queue does not drop a revoke.
        send(message, 10.0);
    }

    private void send(ControlMessage message, double timeoutSeconds) {
        Map<String, Object> body = message.celeryBody(replyExchange.name());
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("clock", tick());
        headers.put("expires", now() + timeoutSeconds);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("delivery_mode", 2);
        properties.put("priority", 0);
        link.publish(exchange, "", BrokerMessage.json(codec.writeJson(body), headers, properties));
    }

    /** Subscribes as an unnamed node (a mailbox named {@code celeriac-<uuid>.celery.pidbox}). */
    @Override
    public AutoCloseable subscribe(Consumer<ControlMessage> listener) {
        return subscribe("celeriac-" + UUID.randomUUID(), listener);
    }

    @Override
    public AutoCloseable subscribe(String hostname, Consumer<ControlMessage> listener) {
        String queue = nodeQueue(hostname);
        return link.consume("the mailbox of node " + hostname, channel -> {
            exchange.declare(channel);
            AMQP.Queue.DeclareOk ok = channel.queueDeclare(queue, false, false, true, queueArguments);
            if (ok.getConsumerCount() > 0) {
                log.warn("A node named {} is already using this process mailbox ({}): commands go to one of the two. "
                        + "Stop the other node, or give each node a unique name (hostname).", hostname, queue);
            }
            channel.queueBind(queue, exchange.name(), "");
            return queue;
        }, (props, body) -> {
            ControlMessage m = parse(body);
            if (m != null) {
                listener.accept(m);
            }
        });
    }

    private @Nullable ControlMessage parse(byte[] raw) {
        try {
            return ControlMessage.fromCeleryBody(codec.readJson(MessageCodec.strictUtf8(raw)));
        } catch (RuntimeException e) {
            log.debug("ignoring a pidbox message that does not parse: {}", e.toString());
            return null;
        }
    }

    @Override
    public void reply(ControlMessage request, String hostname, Object answer) {
        if (request.replyTo() == null) {
            return;
        }
        Map<String, Object> body = ControlMessage.replyBody(hostname, answer);
        Map<String, Object> headers = request.replyHeaders(tick());
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("delivery_mode", 1);
        properties.put("priority", 0);
        // Unroutable (the caller stopped waiting, its queue is gone) is dropped by RabbitMQ, as kombu expects.
        link.publish(replyExchange, request.replyTo(), BrokerMessage.json(codec.writeJson(body), headers,
                properties));
    }

    /**
     * Broadcasts and collects replies for {@code timeout} on a reply queue of its own, declared and bound before the
     * command goes out; when the command names its destinations, returns as soon as each has answered (kombu's
     * {@code limit}).
     */
    @Override
    public List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
        String oid = UUID.randomUUID().toString();
        String ticket = UUID.randomUUID().toString();
        String queue = oid + "." + replyExchange.name();
        BlockingQueue<Reply> inbox = new LinkedBlockingQueue<>();
        List<Map<String, Object>> replies = new ArrayList<>();
        Channel channel = link.newChannel();
        try {
            replyExchange.declare(channel);
            channel.queueDeclare(queue, false, false, true, queueArguments);
            channel.queueBind(queue, replyExchange.name(), oid);
            channel.basicConsume(queue, true, new DefaultConsumer(channel) {
                @Override
                public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties,
                                           byte[] body) {
                    inbox.add(new Reply(properties.getHeaders(), body));
                }
            });
            send(new ControlMessage(message.method(), message.arguments(), message.destination(), ticket, oid),
                    timeout.toNanos() / 1e9);
            int limit = message.destination().isEmpty() ? Integer.MAX_VALUE : message.destination().size();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (replies.size() < limit) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                Reply r = inbox.poll(left, TimeUnit.NANOSECONDS);
                if (r == null) {
                    break;
                }
                Map<String, Object> answer = r.answer(ticket);
                if (answer != null) {
                    replies.add(answer);
                }
            }
            return replies;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return replies;
        } catch (IOException | ShutdownSignalException e) {
            throw link.failure("Collecting replies to " + message.method(), e);
        } finally {
            // Closing the channel cancels the consumer, and RabbitMQ deletes the auto-delete queue.
            try {
                channel.close();
            } catch (IOException | TimeoutException | RuntimeException e) {
                log.debug("closing a reply channel: {}", e.toString());
            }
        }
    }

    /** A message on a reply queue, not yet read. */
    private final class Reply {
        final Map<String, Object> headers;
        final byte[] body;

        Reply(@Nullable Map<String, Object> headers, byte[] body) {
            this.headers = headers == null ? Map.of() : headers;
            this.body = body;
        }

        /** The reply, if it answers {@code ticket}, has not expired and parses; else null. */
        @Nullable Map<String, Object> answer(String ticket) {
            Object t = headers.get("ticket");
            if (t != null && !ticket.equals(t.toString())) {
                return null;
            }
            if (headers.get("expires") instanceof Number expires && expires.doubleValue() > 0
                    && now() > expires.doubleValue()) {
                return null;
            }
            try {
                return asMap(codec.readJson(MessageCodec.strictUtf8(body)));
            } catch (RuntimeException e) {
                log.debug("ignoring a pidbox reply that does not parse: {}", e.toString());
                return null;
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(@Nullable Object v) {
        if (v instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new io.celeriac.protocol.MessageRejectedException("refused: not a JSON object");
    }
}
