package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.AlreadyClosedException;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ControlBus;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.EventBus;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.protocol.MessageCodec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeoutException;

/**
 * The RabbitMQ broker, over AMQP 0-9-1, with queues declared and messages laid out as Celery 5.2 and kombu's pyamqp
 * transport do, so Python Celery producers and workers share them: docs/amqp.md has the layout and the kombu and
 * Celery sources it follows. Its parts: {@link Topology} (declarations), {@link AmqpMessages} (message ↔ AMQP
 * frame), {@link Inbox} (consuming, and why consumers live only for one fetch), {@link DelayedDelivery} (where
 * {@link #defer} keeps a message until its ETA) and {@link AmqpDeadLetterQueue}.
 *
 * <p>Guarantees: {@link #publish} returns once RabbitMQ confirmed every message of the batch (publisher confirms,
 * persistent messages on durable queues), else throws {@link BrokerUnavailableException} and some may not be queued.
 * {@link #reserve} holds exactly the messages it hands out; RabbitMQ redelivers them if this broker's connection
 * dies before they are settled. Priorities are RabbitMQ's: a higher number is served first, and only on queues
 * declared with {@code x-max-priority} ({@code task_queue_max_priority} in the URL, see {@link AmqpUrl}).
 *
 * <p>Connection loss: the broker reconnects on the next call (one attempt per call; the worker's own retry with
 * backoff paces them); calls while RabbitMQ is unreachable throw {@link BrokerUnavailableException}. Deliveries
 * handed out before the loss cannot be settled any more: RabbitMQ has put them back, acking them does nothing, and
 * they run again (at least once, as with Celery).
 *
 * <p>No {@link #onceDispatch()}: RabbitMQ cannot record a key and publish in one atomic step. Beat records each due
 * time in its schedule store's {@link io.celeriac.broker.DispatchLedger} instead and publishes through
 * {@link #publish} ({@link io.celeriac.broker.LedgerOnceDispatch}); unique tasks are refused.
 *
 * <p>Thread-safety: all methods may be called from any thread; reserves run one at a time.
 */
public final class AmqpBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(AmqpBroker.class);
    private static final long CONFIRM_MILLIS = 30_000;
    /** Headers of a dead-letter record (the reason "in a header", the message otherwise as it was). */
    static final String H_REASON = "x-celeriac-reason";
    static final String H_QUEUE = "x-celeriac-queue";
    static final String H_TIME = "x-celeriac-time";
    static final String H_ID = "x-celeriac-id";

    private final AmqpUrl url;
    private final Topology topology;
    private final Clock clock;
    private final long maxMessageBytes;
    private final String deadLetterQueueName;
    private final String connectionName = "celeriac-" + UUID.randomUUID();
    private final Object linkLock = new Object();
    private final Object reserveLock = new Object();
    /** kombu's queue cycle: the queue that delivered goes to the back (guarded by reserveLock). */
    private final LinkedHashSet<String> cycle = new LinkedHashSet<>();
    private final AmqpDeadLetterQueue deadLetters;
    /** Events and remote control, on a connection of their own (opened on first use). */
    private final MonitorLink monitor;
    private final AmqpEventBus events;
    private final AmqpPidbox pidbox;
    /** The consumer's prefetch window as the worker told it; 0: none told, each reserve holds what it hands out. */
    private volatile int prefetchCount;
    private volatile @Nullable AmqpLink link;
    private volatile boolean lost;
    private volatile boolean closed;

    public AmqpBroker(String url, CeleriacConfig config) {
        this(AmqpUrl.parse(url), config, Clock.systemUTC());
    }

    public AmqpBroker(AmqpUrl url, CeleriacConfig config, Clock clock) {
        this.url = url;
        this.clock = clock;
        this.maxMessageBytes = config.maxMessageBytes();
        this.deadLetterQueueName = config.deadLetterQueue();
        this.topology = new Topology(maxPriority(url, config), url.quorum(), url.deliveryLimit(), deadLetterQueueName);
        this.deadLetters = new AmqpDeadLetterQueue(this, deadLetterQueueName, maxMessageBytes);
        this.monitor = new MonitorLink(url, connectionName + "-monitor");
        MessageCodec codec = new MessageCodec(maxMessageBytes);
        this.events = new AmqpEventBus(monitor, codec, config);
        this.pidbox = new AmqpPidbox(monitor, codec, clock, config);
    }

    /** {@code task_queue_max_priority} from the URL or the configuration; both may say it only if they agree. */
    private static Integer maxPriority(AmqpUrl url, CeleriacConfig config) {
        Integer fromUrl = url.maxPriority();
        Integer fromConfig = config.queueMaxPriority().orElse(null);
        if (fromUrl != null && fromConfig != null && !fromUrl.equals(fromConfig)) {
            throw new IllegalArgumentException("task_queue_max_priority is " + fromUrl + " in the broker URL but "
                    + fromConfig + " in the configuration: set it in one place");
        }
        Integer max = fromUrl != null ? fromUrl : fromConfig;
        if (max != null && url.quorum()) {
            throw new IllegalArgumentException("task_queue_max_priority cannot be used with quorum queues: RabbitMQ "
                    + "refuses x-max-priority on them (docs/amqp.md)");
        }
        return max;
    }

    /** The server this broker talks to (without the password). */
    public AmqpUrl url() {
        return url;
    }

    @Override
    public Optional<DeadLetterQueue> deadLetterQueue() {
        return Optional.of(deadLetters);
    }

    /** Celery's {@code celeryev} events, on a connection of their own ({@link AmqpEventBus}). */
    @Override
    public Optional<EventBus> eventBus() {
        return Optional.of(events);
    }

    /** Celery's pidbox remote control, on the events' connection ({@link AmqpPidbox}). */
    @Override
    public Optional<ControlBus> controlBus() {
        return Optional.of(pidbox);
    }

    // ------------------------------------------------------------------ connection

    /** The live link, opened now if there is none; throws {@link BrokerUnavailableException} if it cannot be. */
    AmqpLink link() {
        AmqpLink l = link;
        if (l != null && l.open()) {
            return l;
        }
        synchronized (linkLock) {
            if (closed) {
                throw new IllegalStateException("the AMQP broker is closed");
            }
            l = link;
            if (l != null && l.open()) {
                return l;
            }
            if (l != null) {
                if (!lost) {
                    log.warn("Lost the connection to RabbitMQ at {} ({}); reconnecting. Messages this consumer held "
                            + "unsettled go back to their queues and will run again.", url,
                            l.connection.getCloseReason() == null ? "channel closed"
                                    : ReconnectBackoff.reason(l.connection.getCloseReason()));
                }
                lost = true;
                l.close();
                link = null;
            }
            AmqpLink opened = AmqpLink.open(url, connectionName, maxMessageBytes);
            if (lost) {
                log.info("Reconnected to RabbitMQ at {}", url);
                lost = false;
            }
            link = opened;
            return opened;
        }
    }

    /** What went wrong, as our exception: a channel-level refusal stays a refusal, anything else is unavailability. */
    private RuntimeException failure(String what, Throwable e) {
        int code = AmqpLink.replyCode(e);
        if (code == AMQP.PRECONDITION_FAILED) {
            return new IllegalStateException(what + " was refused by RabbitMQ: " + ReconnectBackoff.reason(e)
                    + ". A queue of that name exists with other arguments; set task_queue_max_priority, "
                    + "task_default_queue_type and delivery_limit in the broker URL to what the queue was declared "
                    + "with (docs/amqp.md), or delete the queue.", e);
        }
        if (code == AMQP.ACCESS_REFUSED || code == AMQP.NOT_ALLOWED) {
            return new IllegalStateException(what + " was refused by RabbitMQ: " + ReconnectBackoff.reason(e), e);
        }
        return new BrokerUnavailableException(what + " failed: RabbitMQ at " + url + " ("
                + ReconnectBackoff.reason(e) + ")", e);
    }

    private static BrokerUnavailableException interrupted(String what, InterruptedException e) {
        Thread.currentThread().interrupt();
        return new BrokerUnavailableException("interrupted while " + what, e);
    }

    /** Declares a task queue on this connection unless it already was (kombu's {@code maybe_declare}). */
    private void ensureDeclared(AmqpLink l, String queue) throws IOException {
        if (l.declared.contains(queue)) {
            return;
        }
        if (topology.deadLettersByRabbitMq()) {
            ensureDeadLetterQueue(l); // RabbitMQ drops what it dead-letters to a queue that does not exist
        }
        l.admin(ch -> {
            topology.declareTaskQueue(ch, queue);
            return null;
        });
        l.declared.add(queue);
    }

    private void ensureDeadLetterQueue(AmqpLink l) throws IOException {
        // Kept apart from task queues in the cache: it is declared without x-max-priority.
        String key = "\u0000dead:" + deadLetterQueueName;
        if (l.declared.contains(key)) {
            return;
        }
        l.admin(ch -> {
            Topology.declareDeadLetterQueue(ch, deadLetterQueueName);
            return null;
        });
        l.declared.add(key);
    }

    @Override
    public void declare(Collection<String> queues) {
        AmqpLink l = link();
        try {
            for (String q : queues) {
                ensureDeclared(l, q);
            }
        } catch (IOException | RuntimeException e) {
            throw failure("Declaring queues " + queues, e);
        }
    }

    // ------------------------------------------------------------------ publishing

    @Override
    public void publish(List<OutboundMessage> messages) {
        if (messages.isEmpty()) {
            return;
        }
        // Mapped before anything is sent: a header no AMQP type can carry is a refusal of the batch, not an outage.
        List<AMQP.BasicProperties> props = new ArrayList<>(messages.size());
        for (OutboundMessage m : messages) {
            props.add(AmqpMessages.properties(m.message(), Map.of()).builder().priority(m.priority()).build());
        }
        AmqpLink l = link();
        String what = "Publishing " + messages.size() + " message(s) (some may not be queued; send again)";
        try {
            for (OutboundMessage m : messages) {
                ensureDeclared(l, m.queue());
            }
            // As Celery publishes a task: to the default exchange, routing key = queue, persistent, mandatory so that
            // a message no queue takes is an error rather than silently dropped.
            l.publish(ch -> {
                for (int i = 0; i < messages.size(); i++) {
                    ch.basicPublish("", messages.get(i).queue(), true, props.get(i), messages.get(i).message().body());
                }
            }, CONFIRM_MILLIS);
        } catch (InterruptedException e) {
            throw interrupted(what, e);
        } catch (IOException | TimeoutException | RuntimeException e) {
            throw failure(what, e);
        }
    }

    /** Publishes one raw message (properties and body as received) with confirm. */
    void publishRaw(AmqpLink l, String exchange, String routingKey, AMQP.BasicProperties props, byte[] body)
            throws IOException, InterruptedException, TimeoutException {
        l.publish(ch -> ch.basicPublish(exchange, routingKey, true, props, body), CONFIRM_MILLIS);
    }

    /** Puts a dead letter's message back on its queue, byte for byte, with confirm (before the record is acked). */
    void requeueDeadLetter(String queue, AMQP.BasicProperties props, byte[] body) throws IOException {
        AmqpLink l = link();
        try {
            ensureDeclared(l, queue);
            publishRaw(l, "", queue, props, body);
        } catch (InterruptedException e) {
            throw interrupted("requeueing a dead letter", e);
        } catch (TimeoutException e) {
            throw new IOException("no confirm from RabbitMQ", e);
        }
    }

    // ------------------------------------------------------------------ consuming

    @Override
    public List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException {
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("reserve needs at least one queue");
        }
        if (max <= 0) {
            return List.of();
        }
        synchronized (reserveLock) {
            long deadline = System.nanoTime() + Math.max(0, wait.toNanos());
            AmqpLink l = link();
            try {
                for (String q : queues) {
                    ensureDeclared(l, q);
                }
                int count = prefetchCount;
                if (count > 0) {
                    return reserveStreaming(l, queues, max, deadline, count);
                }
                if (!l.inbox.unstreamed()) {
                    l.inbox.endStanding(l.inbox.standingQueues());
                }
                List<Delivery> out = new ArrayList<>();
                while (true) {
                    collect(l, queues, max, out);
                    if (!out.isEmpty() || closed) {
                        return out;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return out;
                    }
                    l.inbox.await(inCycleOrder(queues), left);
                    if (!l.inbox.open()) {
                        throw new IOException("the consuming channel closed", l.inbox.closedBy());
                    }
                }
            } catch (IOException | TimeoutException | RuntimeException e) {
                throw failure("Reserving from " + queues, e);
            }
        }
    }

    /**
     * With a prefetch count told ({@link #prefetchCount}): standing subscriptions deliver ahead into the inbox, and a
     * reserve takes what is buffered, queues in kombu's cycle order, waiting only while nothing is.
     */
    private List<Delivery> reserveStreaming(AmqpLink l, List<String> queues, int max, long deadline, int count)
            throws IOException, InterruptedException, TimeoutException {
        l.inbox.stream(queues, count);
        List<Delivery> out = new ArrayList<>();
        while (true) {
            for (String q : inCycleOrder(queues)) {
                int room = max - out.size();
                if (room <= 0) {
                    break;
                }
                List<AmqpDelivery> got = readable(l, l.inbox.take(q, room));
                if (!got.isEmpty()) {
                    out.addAll(got);
                    cycle.remove(q);
                    cycle.add(q);
                }
            }
            if (!out.isEmpty() || closed) {
                return out;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return out;
            }
            l.inbox.awaitBuffered(left);
            if (!l.inbox.open()) {
                throw new IOException("the consuming channel closed", l.inbox.closedBy());
            }
        }
    }

    /**
     * Fills {@code out} up to {@code max}: what the inbox buffered first, then a fetch per queue with the room left,
     * queues taken in kombu's cycle order, a queue that delivered moving to the back.
     */
    private void collect(AmqpLink l, List<String> queues, int max, List<Delivery> out)
            throws IOException, InterruptedException, TimeoutException {
        for (String q : inCycleOrder(queues)) {
            int room = max - out.size();
            if (room <= 0) {
                return;
            }
            List<AmqpDelivery> got = readable(l, l.inbox.take(q, room));
            if (got.size() < room && !l.inbox.hasBuffered(q)) {
                l.inbox.fetch(q, room - got.size());
                got.addAll(readable(l, l.inbox.take(q, room - got.size())));
            }
            if (!got.isEmpty()) {
                out.addAll(got);
                cycle.remove(q);
                cycle.add(q);
            }
        }
    }

    private List<String> inCycleOrder(List<String> queues) {
        for (String q : queues) {
            cycle.add(q);
        }
        List<String> ordered = new ArrayList<>(queues.size());
        for (String q : cycle) {
            if (queues.contains(q)) {
                ordered.add(q);
            }
        }
        return ordered;
    }

    /**
     * The readable deliveries of {@code ds}; the others (not UTF-8, over the size limit, headers with no JSON form)
     * go to the dead-letter queue with the reason and are never handed out.
     */
    private List<AmqpDelivery> readable(AmqpLink l, List<AmqpDelivery> ds)
            throws IOException, InterruptedException, TimeoutException {
        List<AmqpDelivery> ok = new ArrayList<>(ds.size());
        for (AmqpDelivery d : ds) {
            if (d.refusal == null) {
                ok.add(d);
                continue;
            }
            log.error("Rejecting a message from queue '{}': {}. It was moved to the dead-letter queue '{}'.",
                    d.queue(), d.refusal, deadLetterQueueName);
            writeDeadLetter(l, d, d.refusal);
            d.inbox().ack(List.of(d));
        }
        return ok;
    }

    /**
     * From now on, standing subscriptions deliver up to {@code count} unsettled messages ahead (Celery's prefetch
     * count); 0 ends them and gives back what they delivered ahead. See {@link Inbox#stream}.
     */
    @Override
    public void prefetchCount(int count) {
        if (count < 0) {
            throw new IllegalArgumentException("prefetch count < 0: " + count);
        }
        prefetchCount = count;
        if (count == 0) {
            synchronized (reserveLock) {
                AmqpLink l = link;
                if (l != null && l.open() && !l.inbox.unstreamed()) {
                    try {
                        l.inbox.endStanding(l.inbox.standingQueues());
                    } catch (InterruptedException e) {
                        throw interrupted("ending the prefetch", e);
                    } catch (IOException | RuntimeException e) {
                        throw failure("Ending the prefetch", e);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ settling

    @Override
    public void ack(Collection<Delivery> deliveries) {
        Map<Inbox, List<AmqpDelivery>> byInbox = byInbox(deliveries);
        for (Map.Entry<Inbox, List<AmqpDelivery>> e : byInbox.entrySet()) {
            if (!e.getKey().open()) {
                dropped("ack", e.getValue());
                continue;
            }
            try {
                e.getKey().ack(e.getValue());
            } catch (IOException | AlreadyClosedException ex) {
                // The channel closed under us: RabbitMQ put those messages back; there is nothing left to ack.
                dropped("ack", e.getValue());
            }
        }
    }

    private static void dropped(String what, List<AmqpDelivery> ds) {
        log.warn("Could not {} {} message(s): the connection they came on is gone, and RabbitMQ has put them back in "
                + "their queues (they will be delivered again)", what, ds.size());
    }

    private static Map<Inbox, List<AmqpDelivery>> byInbox(Collection<Delivery> deliveries) {
        Map<Inbox, List<AmqpDelivery>> byInbox = new LinkedHashMap<>();
        for (Delivery d : deliveries) {
            AmqpDelivery a = AmqpDelivery.of(d);
            byInbox.computeIfAbsent(a.inbox(), k -> new ArrayList<>()).add(a);
        }
        return byInbox;
    }

    @Override
    public void requeue(Collection<Delivery> deliveries) {
        for (Map.Entry<Inbox, List<AmqpDelivery>> e : byInbox(deliveries).entrySet()) {
            if (!e.getKey().open()) {
                continue; // already back in their queues, with the channel
            }
            try {
                e.getKey().requeue(e.getValue());
            } catch (IOException | AlreadyClosedException ex) {
                // Closed meanwhile: RabbitMQ requeued them itself.
                log.debug("requeue on a closed channel: {}", ex.toString());
            }
        }
    }

    /**
     * Republishes the message, unchanged (its {@code eta} header still says when), through the delayed-delivery
     * levels to come back to its queue when due ({@link DelayedDelivery}), then acks the delivery.
     */
    @Override
    public void defer(Delivery delivery, Instant eta) {
        AmqpDelivery d = AmqpDelivery.of(delivery);
        if (!d.inbox().open()) {
            dropped("defer", List.of(d));
            return;
        }
        AmqpLink l = link();
        String what = "Deferring a message of queue '" + d.queue() + "' until " + eta;
        try {
            if (!l.delayDeclared) {
                l.admin(ch -> {
                    DelayedDelivery.declare(ch);
                    return null;
                });
                l.delayDeclared = true;
            }
            if (!l.delayTargets.contains(d.queue())) {
                ensureDeclared(l, d.queue());
                l.admin(ch -> {
                    DelayedDelivery.bindTarget(ch, d.queue());
                    return null;
                });
                l.delayTargets.add(d.queue());
            }
            Duration delay = Duration.between(clock.instant(), eta);
            publishRaw(l, DelayedDelivery.entry(), DelayedDelivery.routingKey(delay, d.queue()),
                    withHeaders(d.properties, Map.of()), d.body);
            d.inbox().ack(List.of(d));
        } catch (InterruptedException e) {
            throw interrupted(what, e);
        } catch (IOException | TimeoutException | RuntimeException e) {
            throw failure(what, e);
        }
    }

    @Override
    public void deadLetter(Delivery delivery, String reason) {
        AmqpDelivery d = AmqpDelivery.of(delivery);
        if (!d.inbox().open() && !d.acked) {
            // Unsettled when its channel went: it is back in its queue and will be judged again.
            dropped("dead-letter", List.of(d));
            return;
        }
        AmqpLink l = link();
        String what = "Dead-lettering a message of queue '" + d.queue() + "'";
        try {
            writeDeadLetter(l, d, reason);
            if (d.inbox().holds(d)) {
                d.inbox().ack(List.of(d));
            }
        } catch (InterruptedException e) {
            throw interrupted(what, e);
        } catch (IOException | TimeoutException | RuntimeException e) {
            throw failure(what, e);
        }
    }

    /** Publishes the dead-letter record: the message as received, with the reason, queue, time and an id. */
    private void writeDeadLetter(AmqpLink l, AmqpDelivery d, String reason)
            throws IOException, InterruptedException, TimeoutException {
        ensureDeadLetterQueue(l);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put(H_REASON, reason);
        record.put(H_QUEUE, d.queue());
        record.put(H_TIME, clock.instant().toString());
        record.put(H_ID, UUID.randomUUID().toString());
        publishRaw(l, "", deadLetterQueueName, withHeaders(d.properties, record), d.body);
    }

    /** The properties with RabbitMQ's dead-lettering history removed and {@code extra} headers added. */
    static AMQP.BasicProperties withHeaders(AMQP.BasicProperties props, Map<String, Object> extra) {
        Map<String, Object> headers = new LinkedHashMap<>();
        if (props.getHeaders() != null) {
            props.getHeaders().forEach((k, v) -> {
                if (!k.equals("x-death") && !k.startsWith("x-first-death-") && !k.startsWith("x-last-death-")) {
                    headers.put(k, v);
                }
            });
        }
        headers.putAll(extra);
        return props.builder().headers(headers).build();
    }

    // ------------------------------------------------------------------ queues

    /** Ready messages ({@code queue.declare passive}'s count): not those delivered and unacked, nor deferred ones. */
    @Override
    public long queueLength(String queue) {
        return queueOp("Reading the length of " + queue, queue, Op.LENGTH);
    }

    @Override
    public long purge(String queue) {
        return queueOp("Purging " + queue, queue, Op.PURGE);
    }

    /**
     * RabbitMQ's count of the queue's consumers ({@code queue.declare passive}): every client's subscriptions, Python
     * Celery workers' included. A Celeriac worker holds one per queue while it runs; a client that reserves without
     * a prefetch window is subscribed only while a reserve waits.
     */
    @Override
    public OptionalInt consumerCount(String queue) {
        return OptionalInt.of((int) queueOp("Counting the consumers of " + queue, queue, Op.CONSUMERS));
    }

    private enum Op { LENGTH, PURGE, CONSUMERS }

    private long queueOp(String what, String queue, Op op) {
        AmqpLink l = link();
        try {
            return l.admin(ch -> switch (op) {
                case LENGTH -> (long) ch.queueDeclarePassive(queue).getMessageCount();
                case PURGE -> (long) ch.queuePurge(queue).getMessageCount();
                case CONSUMERS -> (long) ch.queueDeclarePassive(queue).getConsumerCount();
            });
        } catch (IOException | RuntimeException e) {
            if (AmqpLink.replyCode(e) == AMQP.NOT_FOUND) {
                return 0; // never declared: nothing waits in it, nobody reads it
            }
            throw failure(what, e);
        }
    }

    // ------------------------------------------------------------------ for tests and closing

    /** Messages this broker's current connection holds unsettled (handed out or buffered). */
    int unsettledCount() {
        AmqpLink l = link;
        return l == null || !l.open() ? 0 : l.inbox.unsettledCount();
    }

    /** Drops the connection without settling anything, as a killed process would. */
    void abort() {
        AmqpLink l = link;
        if (l != null) {
            l.abort();
        }
    }

    @Override
    public void close() {
        synchronized (linkLock) {
            if (closed) {
                return;
            }
            closed = true;
            monitor.close();
            if (link != null) {
                // Closing the connection returns every unsettled message to its queue.
                link.close();
            }
        }
    }
}
