package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;
import io.celeriac.backend.ResultCodec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Celery's {@code rpc://} result backend ({@code celery/backends/rpc.py}): results are not stored anywhere; a worker
 * sends each state as a message to the reply queue named in the task's {@code reply_to}, and only the process that
 * sent the task receives it. As Celery lays it out:
 * <ul>
 *   <li>each client has one reply queue, named by its app ({@code app.thread_oid} there, a UUID here), declared
 *       non-durable and auto-deleted with {@code x-expires} = {@code result_expires} ({@code RPCBackend.binding}),
 *       before any task is sent ({@code on_task_call}); every task it sends carries that name as {@code reply_to};
 *   <li>a worker publishes {@code {"task_id", "status", "result", "traceback", "children"}} ({@code _to_result}) as
 *       JSON to the default exchange with the reply queue as routing key, {@code correlation_id} = task id,
 *       {@code delivery_mode} 1 ({@code result_persistent} is off by default), without declaring anything: a result
 *       whose caller has gone is dropped by RabbitMQ;
 *   <li>the client consumes its queue without acks and keeps the latest state of each task.
 * </ul>
 * So a Python client using {@code rpc://} gets results from a Celeriac worker and the reverse. The same limits as in
 * Celery: no chords, a result is seen only by the process that sent the task, and results that arrive while nobody
 * listens (the client restarted) are lost. Here a worker's publish waits for RabbitMQ's confirm, so a task is acked
 * only after RabbitMQ has its result.
 *
 * <p>The latest {@value #KEEP} states are kept in memory, oldest dropped first: what {@link #get} and {@link #await}
 * read.
 */
public final class AmqpRpcBackend implements ResultBackend {
    private static final Logger log = LoggerFactory.getLogger(AmqpRpcBackend.class);
    static final int KEEP = 100_000;
    private static final long CONFIRM_MILLIS = 30_000;

    private final AmqpUrl url;
    private final String queue = UUID.randomUUID().toString();
    private final @Nullable Duration expires;
    private final ResultCodec codec;
    private final MessageCodec json;
    private final String connectionName = "celeriac-rpc-" + queue;
    private final Object linkLock = new Object();
    /** Latest state per task id, oldest first; guarded by itself, waiters notified on it. */
    private final Map<String, ResultDocument> latest = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ResultDocument> eldest) {
            return size() > KEEP;
        }
    };
    private volatile @Nullable AmqpLink link;
    private volatile boolean consuming;
    private volatile boolean closed;

    /**
     * @param brokerUrl the AMQP broker both sides use (rpc:// names no server: Celery takes the broker's)
     * @param expires how long an unused reply queue lives ({@code result_expires})
     */
    public AmqpRpcBackend(String brokerUrl, @Nullable Duration expires, MessageCodec json) {
        this.url = AmqpUrl.parse(brokerUrl);
        this.expires = expires;
        this.json = json;
        this.codec = new ResultCodec(json);
    }

    /** The reply queue: sent tasks carry it as {@code reply_to}. */
    @Override
    public Optional<String> replyQueue() {
        return Optional.of(queue);
    }

    // ------------------------------------------------------------------ worker side

    /** Sends each document with a reply queue to it, in order, and waits for RabbitMQ's confirms. */
    @Override
    public void store(List<ResultDocument> documents) {
        List<ResultDocument> routed = documents.stream().filter(d -> d.replyTo() != null).toList();
        if (routed.isEmpty()) {
            return; // Celery's store_result: no reply_to, nobody to send it to
        }
        try {
            AmqpLink l = link();
            l.publish(ch -> {
                for (ResultDocument d : routed) {
                    AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                            .contentType("application/json").contentEncoding("utf-8").deliveryMode(1).priority(0)
                            .correlationId(d.taskId()).build();
                    ch.basicPublish("", d.replyTo(), false, props, body(d));
                }
            }, CONFIRM_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ResultBackendUnavailableException("interrupted while sending results", e);
        } catch (IOException | TimeoutException | RuntimeException e) {
            drop();
            throw new ResultBackendUnavailableException("Sending results to their callers through RabbitMQ at "
                    + url + " failed (" + io.celeriac.broker.ReconnectBackoff.reason(e) + ")", e);
        }
    }

    /** Celery's {@code RPCBackend._to_result}, keys in its order. */
    private byte[] body(ResultDocument d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task_id", d.taskId());
        m.put("status", d.status());
        m.put("result", d.result());
        m.put("traceback", d.traceback());
        m.put("children", d.children());
        return json.writeJson(m).getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ caller side

    @Override
    public Optional<ResultDocument> get(String taskId) {
        ensureConsuming();
        synchronized (latest) {
            return Optional.ofNullable(latest.get(taskId));
        }
    }

    @Override
    public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
        ensureConsuming();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (latest) {
            while (true) {
                ResultDocument d = latest.get(taskId);
                if (d != null && d.ready()) {
                    return Optional.of(d);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    return Optional.ofNullable(d);
                }
                TimeUnit.NANOSECONDS.timedWait(latest, Math.min(left, TimeUnit.SECONDS.toNanos(1)));
                if (!consuming) {
                    // The connection went: listen again (results sent meanwhile to a deleted queue are lost).
                    latest.notifyAll();
                    ensureConsumingQuietly();
                }
            }
        }
    }

    @Override
    public void forget(Collection<String> taskIds) {
        synchronized (latest) {
            taskIds.forEach(latest::remove);
        }
    }

    @Override
    public void beforeSend() {
        ensureConsuming();
    }

    /** Declares the reply queue and consumes it, if not yet: before every send (Celery's {@code on_task_call}) and read. */
    private void ensureConsuming() {
        if (consuming) {
            return;
        }
        synchronized (linkLock) {
            if (consuming) {
                return;
            }
            try {
                AmqpLink l = link();
                Channel ch = l.newChannel();
                Map<String, Object> args = new LinkedHashMap<>();
                if (expires != null && !expires.isZero()) {
                    args.put("x-expires", (int) Math.min(Integer.MAX_VALUE, expires.toMillis()));
                }
                ch.queueDeclare(queue, false, false, true, args);
                ch.basicConsume(queue, true, new Replies(ch));
                consuming = true;
            } catch (IOException | RuntimeException e) {
                drop();
                throw new ResultBackendUnavailableException("Cannot listen for results on RabbitMQ at " + url + " ("
                        + io.celeriac.broker.ReconnectBackoff.reason(e) + ")", e);
            }
        }
    }

    private void ensureConsumingQuietly() {
        try {
            ensureConsuming();
        } catch (ResultBackendUnavailableException e) {
            log.debug("Reply queue not consumed yet: {}", e.getMessage());
        }
    }

    /** One reply: the latest state of its task. */
    private final class Replies extends DefaultConsumer {
        Replies(Channel channel) {
            super(channel);
        }

        @Override
        public void handleDelivery(String tag, Envelope envelope, AMQP.BasicProperties props, byte[] body) {
            ResultDocument d;
            try {
                d = codec.decode(MessageCodec.strictUtf8(body));
            } catch (MessageRejectedException | IllegalArgumentException e) {
                log.warn("Ignoring a reply on {} that is not a result ({})", queue, e.getMessage());
                return;
            }
            synchronized (latest) {
                latest.remove(d.taskId()); // re-inserted: newest last, so the oldest are dropped first
                latest.put(d.taskId(), d);
                latest.notifyAll();
            }
        }

        @Override
        public void handleShutdownSignal(String tag, com.rabbitmq.client.ShutdownSignalException sig) {
            consuming = false;
        }

        @Override
        public void handleCancel(String tag) {
            consuming = false;
        }
    }

    // ------------------------------------------------------------------ connection

    private AmqpLink link() {
        AmqpLink l = link;
        if (l != null && l.connection.isOpen()) {
            return l;
        }
        synchronized (linkLock) {
            if (closed) {
                throw new IllegalStateException("the rpc result backend is closed");
            }
            l = link;
            if (l != null && l.connection.isOpen()) {
                return l;
            }
            try {
                l = AmqpLink.open(url, connectionName, Long.MAX_VALUE);
            } catch (BrokerUnavailableException e) {
                throw new ResultBackendUnavailableException(e.getMessage(), e);
            }
            link = l;
            consuming = false;
            return l;
        }
    }

    private void drop() {
        AmqpLink l = link;
        if (l != null && !l.connection.isOpen()) {
            link = null;
            consuming = false;
        }
    }

    @Override
    public void close() {
        closed = true;
        AmqpLink l = link;
        if (l != null) {
            l.close();
        }
        synchronized (latest) {
            latest.notifyAll();
        }
    }
}
