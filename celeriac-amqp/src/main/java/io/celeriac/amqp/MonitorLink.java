package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.protocol.BrokerMessage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The AMQP connection that carries Celery's monitoring events ({@link AmqpEventBus}) and remote control
 * ({@link AmqpPidbox}), apart from the broker's task connection ({@link AmqpLink}): as in Celery, where the worker's
 * event dispatcher and its mailbox do not share the task consumer's channel ({@code celery/worker/consumer/events.py},
 * {@code celery/worker/pidbox.py}), and so that a burst of events never waits behind the task publisher's confirms.
 * Opened on first use: a client that only sends tasks opens none.
 *
 * <p>Publishing is fire-and-forget, as kombu publishes events and pidbox messages: no publisher confirms, not
 * mandatory; what nobody listens for is dropped by RabbitMQ. While RabbitMQ is unreachable a publish throws
 * {@link BrokerUnavailableException} at once, and tries to connect again at most once a second.
 *
 * <p>Standing consumers (an event receiver, a worker's mailbox) consume without acks ({@code no_ack=True}, as kombu's
 * pidbox node and Celery's event receiver) and outlive a lost connection or a queue deleted under them: when their
 * channel closes without being asked to, the thread {@code celeriac-amqp-resubscribe} declares and consumes again,
 * waiting 1, 2, 4, then 5 s between failed attempts ({@link ReconnectBackoff}). What was published meanwhile is
 * lost, as with Celery. Listeners run on the AMQP client's dispatch threads, one delivery at a time per consumer;
 * an exception from one is logged and does not stop the consumer.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
final class MonitorLink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MonitorLink.class);
    private static final long RETRY_NANOS = Duration.ofSeconds(1).toNanos();

    private final AmqpUrl url;
    private final String name;
    private final Object lock = new Object();
    private final Set<Standing> standing = ConcurrentHashMap.newKeySet();
    private final ReconnectBackoff backoff = new ReconnectBackoff(log);
    /** Exchanges declared on the current connection (kombu's {@code maybe_declare} cache). Guarded by lock. */
    private final Set<String> declared = new HashSet<>();
    private @Nullable Connection connection;
    private @Nullable Channel publishChannel;
    private long noPublishConnectBefore = System.nanoTime();
    private ScheduledExecutorService resubscriber;
    private volatile boolean closed;

    MonitorLink(AmqpUrl url, String name) {
        this.url = url;
        this.name = name;
    }

    /** An exchange as kombu's {@code Exchange} declares it: never auto-deleted, no arguments. */
    record Exchange(String name, String type, boolean durable) {
        void declare(Channel channel) throws IOException {
            channel.exchangeDeclare(name, type, durable, false, null);
        }
    }

    /**
     * A monitoring queue's arguments as kombu makes them from a {@code Queue}'s {@code message_ttl} and
     * {@code expires} ({@code kombu/transport/base.py} {@code to_rabbitmq_queue_arguments}): whole milliseconds,
     * an argument left out where the setting is None (null here). Typed as py-amqp types an int: 32-bit while it
     * fits.
     */
    static Map<String, Object> queueArguments(@Nullable Duration messageTtl, @Nullable Duration expires) {
        Map<String, Object> args = new HashMap<>();
        if (messageTtl != null) {
            args.put("x-message-ttl", millis(messageTtl));
        }
        if (expires != null) {
            args.put("x-expires", millis(expires));
        }
        return Map.copyOf(args);
    }

    private static Object millis(Duration d) {
        long ms = d.toMillis();
        return ms <= Integer.MAX_VALUE ? (Object) (int) ms : (Object) ms;
    }

    /** Declares what a standing consumer reads and returns the queue's name. */
    interface Declaration {
        String declare(Channel channel) throws IOException;
    }

    /** Receives one message of a standing consumer. */
    interface Listener {
        void onMessage(AMQP.BasicProperties properties, byte[] body);
    }

    /** The open connection, opened now if there is none. Holds lock. */
    private Connection connection() {
        if (closed) {
            throw new IllegalStateException("the AMQP broker is closed");
        }
        if (connection != null && connection.isOpen()) {
            return connection;
        }
        if (connection != null) {
            connection.abort();
        }
        connection = null;
        publishChannel = null;
        declared.clear();
        connection = AmqpLink.connect(url, name);
        return connection;
    }

    /** Opens a channel of its own on the connection (a reply collector's). */
    Channel newChannel() {
        synchronized (lock) {
            try {
                return connection().createChannel();
            } catch (IOException | AlreadyClosedException e) {
                throw failure("Opening a channel", e);
            }
        }
    }

    /**
     * Publishes {@code message} to {@code exchange}, declaring the exchange first on this connection (as kombu's
     * {@code declare=[exchange]}); its basic properties are {@link AmqpMessages#properties mapped} as a task's are.
     */
    void publish(Exchange exchange, String routingKey, BrokerMessage message) {
        AMQP.BasicProperties props = AmqpMessages.properties(message, Map.of());
        String what = "Publishing to exchange '" + exchange.name() + "'";
        synchronized (lock) {
            if ((connection == null || !connection.isOpen()) && System.nanoTime() - noPublishConnectBefore < 0) {
                throw new BrokerUnavailableException(what + " failed: RabbitMQ at " + url + " was unreachable less "
                        + "than a second ago");
            }
            try {
                if (publishChannel == null || !publishChannel.isOpen()) {
                    publishChannel = connection().createChannel();
                }
                if (!declared.contains(exchange.name())) {
                    exchange.declare(publishChannel);
                    declared.add(exchange.name());
                }
                publishChannel.basicPublish(exchange.name(), routingKey, false, props, message.body());
            } catch (BrokerUnavailableException e) {
                noPublishConnectBefore = System.nanoTime() + RETRY_NANOS;
                throw e;
            } catch (IOException | AlreadyClosedException e) {
                throw failure(what, e);
            }
        }
    }

    /**
     * Declares what {@code declaration} declares on a channel of its own and consumes the queue it names, without
     * acks, until the returned handle is closed, subscribing again after a lost connection (see the class comment).
     * Throws {@link BrokerUnavailableException} if the first subscription cannot be made; then nothing is left
     * behind.
     *
     * @param what what the consumer is for, for logs ("the mailbox of node w1@host")
     */
    AutoCloseable consume(String what, Declaration declaration, Listener listener) {
        Standing s = new Standing(what, declaration, listener);
        s.open();
        standing.add(s);
        return s;
    }

    /** Our exception for a client failure: a channel-level refusal stays a refusal, the rest is unavailability. */
    RuntimeException failure(String what, Throwable e) {
        int code = AmqpLink.replyCode(e);
        if (code == AMQP.PRECONDITION_FAILED) {
            return new IllegalStateException(what + " was refused by RabbitMQ: " + ReconnectBackoff.reason(e)
                    + ". An exchange or queue of that name exists with other settings than Celery gives it "
                    + "(docs/amqp.md); delete it, and it is declared again as Celery declares it.", e);
        }
        if (code != 0) {
            return new IllegalStateException(what + " was refused by RabbitMQ: " + ReconnectBackoff.reason(e), e);
        }
        return new BrokerUnavailableException(what + " failed: RabbitMQ at " + url + " ("
                + ReconnectBackoff.reason(e) + ")", e);
    }

    /** {@code ch}, the channel of {@code s}, went without being closed by us: subscribe again (once per channel). */
    private void lost(Standing s, Channel ch, String why) {
        synchronized (s) {
            if (s.closed || closed || s.channel != ch) {
                return;
            }
            s.channel = null;
        }
        log.warn("Lost {} on RabbitMQ at {} ({}); subscribing again", s.what, url, why);
        abort(ch);
        resubscribe(s, Duration.ZERO);
    }

    private void resubscribe(Standing s, Duration delay) {
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (resubscriber == null) {
                resubscriber = Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "celeriac-amqp-resubscribe");
                    t.setDaemon(true);
                    return t;
                });
            }
            resubscriber.schedule(() -> {
                if (s.closed || closed) {
                    return;
                }
                try {
                    s.open();
                    backoff.succeeded();
                    log.info("Subscribed again to {}", s.what);
                } catch (RuntimeException e) {
                    resubscribe(s, backoff.failed("RabbitMQ at " + url + " for " + s.what, e));
                }
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (resubscriber != null) {
                resubscriber.shutdownNow();
            }
            for (Standing s : standing) {
                s.closed = true;
            }
            standing.clear();
            if (connection != null) {
                try {
                    if (connection.isOpen()) {
                        connection.close(5_000);
                    }
                } catch (IOException | RuntimeException e) {
                    connection.abort();
                }
            }
        }
    }

    /** A consumer that is subscribed again when its channel goes. */
    private final class Standing implements AutoCloseable {
        final String what;
        final Declaration declaration;
        final Listener listener;
        volatile @Nullable Channel channel;
        volatile boolean closed;

        Standing(String what, Declaration declaration, Listener listener) {
            this.what = what;
            this.declaration = declaration;
            this.listener = listener;
        }

        /** Declares and consumes on a new channel; throws our exception if it cannot. */
        void open() {
            Channel ch = newChannel();
            // Set before consuming, so that a channel lost right after basic.consume-ok is noticed (see lost).
            channel = ch;
            try {
                String queue = declaration.declare(ch);
                ch.basicConsume(queue, true, new DefaultConsumer(ch) {
                    @Override
                    public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties properties,
                                               byte[] body) {
                        try {
                            listener.onMessage(properties, body);
                        } catch (RuntimeException e) {
                            // Thrown on, the client would close the channel: one bad message must not end the feed.
                            log.warn("{}: a message could not be handled: {}", what, e.toString());
                        }
                    }

                    @Override
                    public void handleCancel(String tag) {
                        lost(Standing.this, ch, "consumer cancelled by RabbitMQ: queue " + queue + " was deleted");
                    }

                    @Override
                    public void handleShutdownSignal(String tag, ShutdownSignalException sig) {
                        lost(Standing.this, ch, ReconnectBackoff.reason(sig));
                    }
                });
            } catch (IOException | RuntimeException e) {
                channel = null;
                abort(ch);
                throw failure("Subscribing to " + what, e);
            }
            if (closed) {
                discard();
            }
        }

        /** Closes the channel, if open, without waiting on a dead connection. */
        void discard() {
            Channel ch;
            synchronized (this) {
                ch = channel;
                channel = null;
            }
            if (ch != null && ch.isOpen()) {
                try {
                    ch.close();
                } catch (IOException | TimeoutException | RuntimeException e) {
                    abort(ch);
                }
            }
        }

        @Override
        public void close() {
            closed = true;
            standing.remove(this);
            discard();
        }
    }

    private static void abort(Channel ch) {
        try {
            ch.abort();
        } catch (IOException | RuntimeException ignored) {
            // gone either way
        }
    }
}
