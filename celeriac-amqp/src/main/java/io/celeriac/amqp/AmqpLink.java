package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Address;
import com.rabbitmq.client.AddressResolver;
import com.rabbitmq.client.AlreadyClosedException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.ShutdownSignalException;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ReconnectBackoff;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One AMQP connection and its channels: one to consume on ({@link Inbox}), one in confirm mode to publish on, one for
 * declarations and queue operations. A channel that RabbitMQ closes for a channel error (a redeclaration with other
 * arguments, a passive declare of a missing queue) is reopened on next use; when the connection itself is gone the
 * link is dead and the broker opens a new one. Automatic recovery is off: after a reconnect nothing of the old
 * channels is valid (delivery tags restart), and the broker says so explicitly instead of the client replaying
 * topology behind its back.
 */
final class AmqpLink implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();

    final Connection connection;
    final Inbox inbox;
    /** Task queues declared on this connection (kombu's {@code maybe_declare} cache, per connection as there). */
    final Set<String> declared = ConcurrentHashMap.newKeySet();
    /** Queues bound to the delayed-delivery exchange on this connection. */
    final Set<String> delayTargets = ConcurrentHashMap.newKeySet();
    volatile boolean delayDeclared;
    private final Object publishLock = new Object();
    private final Object adminLock = new Object();
    private @Nullable Channel publishChannel;
    private @Nullable Channel adminChannel;
    /** Messages RabbitMQ returned as unroutable during the current publish batch (mandatory flag). */
    private final List<String> returned = new ArrayList<>();

    private AmqpLink(Connection connection, long maxMessageBytes, boolean quorum) throws IOException {
        this.connection = connection;
        this.inbox = new Inbox(connection.createChannel(), maxMessageBytes, quorum);
    }

    /** Opens a connection; throws {@link BrokerUnavailableException} saying why it could not. */
    static AmqpLink open(AmqpUrl url, String name, long maxMessageBytes) {
        Connection c = connect(url, name);
        try {
            return new AmqpLink(c, maxMessageBytes, url.quorum());
        } catch (IOException | RuntimeException e) {
            c.abort();
            throw new BrokerUnavailableException("Cannot reach RabbitMQ at " + url + " ("
                    + ReconnectBackoff.reason(e) + ")", e);
        }
    }

    /**
     * Opens a connection to {@code url} named {@code name}, without automatic recovery, its threads named
     * {@code celeriac-amqp-<n>}; throws {@link BrokerUnavailableException} saying why it could not.
     */
    static Connection connect(AmqpUrl url, String name) {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost(url.host());
        f.setPort(url.port());
        f.setVirtualHost(url.virtualHost());
        f.setUsername(url.username());
        f.setPassword(url.password() == null ? "" : url.password());
        f.setRequestedHeartbeat((int) url.heartbeat().toSeconds());
        f.setConnectionTimeout((int) url.connectTimeout().toMillis());
        f.setHandshakeTimeout((int) Math.max(url.connectTimeout().toMillis(), 10_000));
        // Reconnection is the broker's own (see the class comment).
        f.setAutomaticRecoveryEnabled(false);
        f.setTopologyRecoveryEnabled(false);
        f.setThreadFactory(daemonThreads());
        try {
            if (url.tls()) {
                f.useSslProtocol(javax.net.ssl.SSLContext.getDefault());
                f.enableHostnameVerification();
            }
            List<Address> addresses = new ArrayList<>();
            for (AmqpUrl.Host h : url.hosts()) {
                addresses.add(new Address(h.host(), h.port()));
            }
            // In the order written, as kombu's default failover strategy (round-robin from the first) tries them;
            // the client's own resolver would shuffle them.
            AddressResolver inOrder = new AddressResolver() {
                @Override
                public List<Address> getAddresses() {
                    return addresses;
                }

                @Override
                public List<Address> maybeShuffle(List<Address> input) {
                    return input;
                }
            };
            return f.newConnection(null, inOrder, name);
        } catch (IOException | TimeoutException | GeneralSecurityException | RuntimeException e) {
            throw new BrokerUnavailableException("Cannot reach RabbitMQ at " + url + " ("
                    + ReconnectBackoff.reason(e) + ")", e);
        }
    }

    /** The client's reader and dispatch threads, named so that thread-leak checks find them. */
    private static ThreadFactory daemonThreads() {
        return r -> {
            Thread t = new Thread(r, "celeriac-amqp-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    boolean open() {
        return connection.isOpen() && inbox.open();
    }

    /** Publishes on the confirm channel under its lock: {@code step} publishes, then this waits for the confirms. */
    void publish(PublishStep step, long confirmMillis) throws IOException, InterruptedException, TimeoutException {
        synchronized (publishLock) {
            if (publishChannel == null || !publishChannel.isOpen()) {
                publishChannel = connection.createChannel();
                publishChannel.confirmSelect();
                publishChannel.addReturnListener(r -> {
                    synchronized (returned) {
                        returned.add(r.getRoutingKey() + " (" + r.getReplyText() + ")");
                    }
                });
            }
            synchronized (returned) {
                returned.clear();
            }
            try {
                step.run(publishChannel);
                // Confirms of every publish on this channel so far: all of this batch, since the lock is held.
                if (!publishChannel.waitForConfirms(confirmMillis)) {
                    throw new IOException("RabbitMQ refused (basic.nack) a message of the batch");
                }
            } catch (IOException | InterruptedException | TimeoutException | RuntimeException e) {
                // Confirms still owed would be counted against the next batch: start it on a fresh channel.
                try {
                    publishChannel.abort();
                } catch (IOException | RuntimeException ignored) {
                    // gone either way
                }
                publishChannel = null;
                throw e;
            }
            synchronized (returned) {
                // A return arrives before the confirm of the same message (AMQP 0-9-1 publisher confirms).
                if (!returned.isEmpty()) {
                    throw new IOException("unroutable, returned by RabbitMQ: " + returned);
                }
            }
        }
    }

    /** Runs {@code step} on the declarations channel, reopening it if a channel error closed it. */
    <T extends @Nullable Object> T admin(AdminStep<T> step) throws IOException {
        synchronized (adminLock) {
            if (adminChannel == null || !adminChannel.isOpen()) {
                adminChannel = connection.createChannel();
            }
            return step.run(adminChannel);
        }
    }

    /** A channel of its own, for browsing the dead-letter queue (closing it returns what it got). */
    Channel newChannel() throws IOException {
        return connection.createChannel();
    }

    /** Whether {@code e} is a channel-level refusal (the connection is fine): 404, 406 and the like. */
    static boolean channelError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ShutdownSignalException s && !s.isHardError() && s.getReason() instanceof AMQP.Channel.Close) {
                return true;
            }
        }
        return false;
    }

    /** The reply code of a channel-level refusal in {@code e}, or 0. */
    static int replyCode(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ShutdownSignalException s && s.getReason() instanceof AMQP.Channel.Close c) {
                return c.getReplyCode();
            }
            if (t instanceof AlreadyClosedException a && a.getReason() instanceof AMQP.Channel.Close c) {
                return c.getReplyCode();
            }
        }
        return 0;
    }

    /** Drops the connection without a goodbye: what a killed process leaves behind. */
    void abort() {
        connection.abort();
    }

    @Override
    public void close() {
        try {
            if (connection.isOpen()) {
                connection.close(5_000);
            }
        } catch (IOException | RuntimeException e) {
            connection.abort();
        }
    }

    interface PublishStep {
        void run(Channel channel) throws IOException;
    }

    interface AdminStep<T extends @Nullable Object> {
        T run(Channel channel) throws IOException;
    }
}
