package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.DefaultConsumer;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.ShutdownSignalException;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageRejectedException;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The consuming channel of one connection and the deliveries it buffers: the consumer buffer.
 *
 * <p>Why consumers live only for the span of a fetch: a message RabbitMQ has delivered is no longer "ready" (not in
 * {@code queue.declare}'s message count) and cannot go to another worker until this channel settles it or dies, so
 * every message delivered here is held, whether handed out yet or not. A standing consumer with a prefetch window
 * hoards up to that window between reserves, and basic.qos cannot shrink it to zero (a prefetch of 0 means
 * unlimited). So each fetch sets the prefetch to exactly the room the caller asked for ({@code basic.qos}, per
 * consumer), subscribes ({@code basic.consume}), and unsubscribes ({@code basic.cancel}) before returning;
 * {@code basic.cancel-ok} is RabbitMQ's promise that nothing more is on its way for that consumer (AMQP 0-9-1 §1.8.3.4),
 * and the client dispatches deliveries before the cancel-ok callback, so once that callback has run the buffer is
 * complete. A worker thus holds exactly the messages it took, as {@link io.celeriac.broker.Broker#reserve} promises
 * and Celery's prefetch count (qos = concurrency × multiplier, of which the worker asks only the free part) intends.
 *
 * <p>Delivery tags count per channel; an {@link AmqpDelivery} keeps its inbox, and once the channel is closed its
 * tags mean nothing: RabbitMQ has put those messages back, and settling them does nothing.
 */
final class Inbox {
    private static final AtomicLong IDS = new AtomicLong();
    private static final long CANCEL_WAIT_SECONDS = 10;
    private static final long POLL_MILLIS = 50;

    private final long id = IDS.incrementAndGet();
    private final Channel channel;
    private final long maxMessageBytes;
    /** Delivered on this channel and not yet settled (buffered or handed out): what RabbitMQ counts as unacked. */
    private final NavigableSet<Long> unsettled = new ConcurrentSkipListSet<>();
    /** Delivered, not yet handed out, per queue in arrival order (RabbitMQ's order: by priority, then FIFO). */
    private final Map<String, ArrayDeque<AmqpDelivery>> buffer = new HashMap<>();
    private final Object ackLock = new Object();
    /** Standing subscriptions by queue, and the prefetch count they were started with (see {@link #stream}). */
    private final Map<String, Subscription> standing = new HashMap<>();
    private int standingCount;
    /** Whether the channel-wide limit of the standing subscriptions is set (several classic queues only). */
    private boolean standingGlobal;
    /**
     * Quorum queues differ in three ways that matter here: they refuse a consumer on a channel with a channel-wide
     * (global) limit; a delivery may still arrive after {@code basic.cancel-ok} (the queue is a Raft log, and the
     * consumer's end is one more entry in it); and a {@code basic.nack requeue} is applied after later commands on the
     * channel have answered. So fetches and waits use {@code basic.get} instead of a consumer, a late delivery is
     * given back, and a requeue waits until the queue counts its messages again.
     */
    private final boolean quorum;
    private volatile @Nullable ShutdownSignalException closedBy;

    Inbox(Channel channel, long maxMessageBytes, boolean quorum) {
        this.channel = channel;
        this.maxMessageBytes = maxMessageBytes;
        this.quorum = quorum;
        // A delivery for a consumer already cancelled (quorum queues): nobody will hand it out, so it goes back.
        channel.setDefaultConsumer(new DefaultConsumer(channel) {
            @Override
            public void handleDelivery(String consumerTag, Envelope envelope, AMQP.BasicProperties properties,
                                       byte[] body) throws IOException {
                channel.basicNack(envelope.getDeliveryTag(), false, true);
            }
        });
        channel.addShutdownListener(cause -> {
            closedBy = cause;
            synchronized (this) {
                // Everything delivered here went back to its queue with the channel.
                buffer.clear();
                unsettled.clear();
                notifyAll();
            }
        });
    }

    long id() {
        return id;
    }

    boolean open() {
        return closedBy == null && channel.isOpen();
    }

    ShutdownSignalException closedBy() {
        return closedBy;
    }

    /** Messages this channel holds: handed out and not settled, or buffered. */
    int unsettledCount() {
        return unsettled.size();
    }

    /**
     * Takes up to {@code credit} ready messages of {@code queue} into the buffer without waiting for new ones:
     * subscribe with a prefetch of {@code credit}, then cancel. RabbitMQ sends what is ready at once when a consumer
     * with room appears, before it handles the cancel.
     */
    void fetch(String queue, int credit) throws IOException, InterruptedException {
        if (quorum) {
            for (int i = 0; i < credit && get(queue); i++) {
                // one basic.get per message: exact, where a consumer's cancel does not end its deliveries
            }
            return;
        }
        channel.basicQos(credit, false);
        cancel(List.of(subscribe(queue)));
    }

    /** One {@code basic.get} into the buffer; false if the queue had nothing ready. */
    private boolean get(String queue) throws IOException {
        com.rabbitmq.client.GetResponse r = channel.basicGet(queue, false);
        if (r == null) {
            return false;
        }
        buffer(queue, r.getEnvelope(), r.getProps(), r.getBody());
        return true;
    }


    /**
     * Waits up to {@code nanos} for a message on any of {@code queues}, subscribed to each with room for one (so at
     * most one per queue arrives if several fill at once), then cancels. Returns early when the channel closes.
     */
    void await(List<String> queues, long nanos) throws IOException, InterruptedException {
        if (quorum) {
            long deadline = System.nanoTime() + nanos;
            while (open()) {
                for (String q : queues) {
                    if (get(q)) {
                        return;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                Thread.sleep(Math.min(POLL_MILLIS, TimeUnit.NANOSECONDS.toMillis(left) + 1));
            }
            return;
        }
        channel.basicQos(1, false);
        List<Subscription> subs = new ArrayList<>();
        try {
            for (String q : queues) {
                subs.add(subscribe(q));
            }
            long deadline = System.nanoTime() + nanos;
            synchronized (this) {
                while (buffered() == 0 && open()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            }
        } finally {
            if (open()) {
                cancel(subs);
            }
        }
    }

    // ------------------------------------------------------------------ standing subscriptions (prefetch count)

    /**
     * Keeps a standing subscription to each of {@code queues}, delivering ahead up to {@code count} unsettled
     * messages on this channel (Celery's prefetch count): for a worker that told its window, one subscription for its
     * life instead of three round trips per fetch. The limit is set per consumer (which quorum queues honour) and, on
     * several classic queues, for the channel too (so together they stay within it). One queue needs only its
     * consumer's limit, which is the same limit there: a channel-wide one has the queue ask the channel's limiter
     * process before every delivery (a synchronous call between two Erlang processes, rabbit_limiter's can_send),
     * while a consumer's own limit is counted in the queue. Quorum queues refuse a consumer
     * on a channel with a channel-wide limit (RabbitMQ's {@code global_qos_not_supported_for_queue_type}), so there
     * each queue's subscription may hold up to {@code count}, as Celery 5.5 does when it detects quorum queues
     * ({@code worker_detect_quorum_queues}: global QoS off). A changed count resubscribes: RabbitMQ applies a
     * per-consumer limit only to consumers that start after it. Subscriptions to queues no longer asked for end, and
     * what they delivered ahead goes back to its queue. Called under the broker's reserve lock.
     */
    void stream(List<String> queues, int count) throws IOException, InterruptedException {
        if (count != standingCount && !standing.isEmpty()) {
            endStanding(new ArrayList<>(standing.keySet()));
        }
        List<String> gone = new ArrayList<>();
        for (String q : standing.keySet()) {
            if (!queues.contains(q)) {
                gone.add(q);
            }
        }
        if (!gone.isEmpty()) {
            endStanding(gone);
        }
        if (standing.isEmpty() || count != standingCount) {
            channel.basicQos(count, false);
            standingCount = count;
        }
        boolean global = !quorum && queues.size() > 1;
        if (global != standingGlobal) {
            channel.basicQos(global ? count : 0, true);
            standingGlobal = global;
        }
        for (String q : queues) {
            if (!standing.containsKey(q)) {
                standing.put(q, subscribe(q));
            }
        }
    }

    /** Ends the standing subscriptions to {@code queues} and gives back what they delivered ahead. */
    void endStanding(List<String> queues) throws IOException, InterruptedException {
        List<Subscription> subs = new ArrayList<>();
        for (String q : queues) {
            Subscription s = standing.remove(q);
            if (s != null) {
                subs.add(s);
            }
        }
        if (subs.isEmpty() || !open()) {
            return;
        }
        cancel(subs);
        if (standing.isEmpty() && standingGlobal) {
            channel.basicQos(0, true); // no channel-wide limit left in the way of per-fetch credit
            standingGlobal = false;
        }
        List<AmqpDelivery> back = new ArrayList<>();
        for (String q : queues) {
            back.addAll(take(q, Integer.MAX_VALUE));
        }
        if (!back.isEmpty()) {
            requeue(back);
        }
    }

    /** Whether no standing subscription is open. */
    boolean unstreamed() {
        return standing.isEmpty();
    }

    List<String> standingQueues() {
        return new ArrayList<>(standing.keySet());
    }

    /** Waits up to {@code nanos} until something is buffered; returns early when the channel closes. */
    synchronized void awaitBuffered(long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + nanos;
        while (buffered() == 0 && open()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    private Subscription subscribe(String queue) throws IOException {
        Subscription s = new Subscription(queue);
        s.tag = channel.basicConsume(queue, false, s);
        return s;
    }

    private void cancel(List<Subscription> subs) throws IOException, InterruptedException {
        for (Subscription s : subs) {
            if (s.done.getCount() == 0) {
                continue; // RabbitMQ cancelled it already (its queue was deleted)
            }
            try {
                channel.basicCancel(s.tag);
            } catch (IOException e) {
                // Cancelled by RabbitMQ between the check and here: the client forgot the tag, nothing more comes.
                if (s.done.getCount() != 0) {
                    throw e;
                }
            }
        }
        for (Subscription sub : subs) {
            if (!sub.done.await(CANCEL_WAIT_SECONDS, TimeUnit.SECONDS) && open()) {
                throw new IOException("no basic.cancel-ok from RabbitMQ within " + CANCEL_WAIT_SECONDS + " s");
            }
        }
    }

    private int buffered() {
        int n = 0;
        for (ArrayDeque<AmqpDelivery> q : buffer.values()) {
            n += q.size();
        }
        return n;
    }

    /** Removes and returns up to {@code max} buffered deliveries of {@code queue}, refused ones included. */
    synchronized List<AmqpDelivery> take(String queue, int max) {
        ArrayDeque<AmqpDelivery> q = buffer.get(queue);
        List<AmqpDelivery> out = new ArrayList<>();
        while (q != null && !q.isEmpty() && out.size() < max) {
            out.add(q.poll());
        }
        return out;
    }

    synchronized boolean hasBuffered(String queue) {
        ArrayDeque<AmqpDelivery> q = buffer.get(queue);
        return q != null && !q.isEmpty();
    }

    /**
     * Acks deliveries of this channel: one {@code basic.ack multiple} when they are all this channel holds up to the
     * highest of them, else one ack each. Tags of a closed channel are dropped (RabbitMQ requeued those messages).
     */
    void ack(Collection<AmqpDelivery> ds) throws IOException {
        synchronized (ackLock) {
            List<Long> tags = new ArrayList<>(ds.size());
            for (AmqpDelivery d : ds) {
                if (unsettled.contains(d.tag())) {
                    tags.add(d.tag());
                }
            }
            if (tags.isEmpty() || !open()) {
                return;
            }
            tags.sort(null);
            long top = tags.get(tags.size() - 1);
            // "multiple" acks every unacked tag up to `top` on the channel: safe only if those are exactly ours.
            if (tags.size() > 1 && unsettled.headSet(top, true).size() == tags.size()) {
                channel.basicAck(top, true);
            } else {
                for (long t : tags) {
                    channel.basicAck(t, false);
                }
            }
            unsettled.removeAll(tags);
            for (AmqpDelivery d : ds) {
                d.acked = true;
            }
        }
    }

    /**
     * Returns deliveries to their queues ({@code basic.nack requeue}: RabbitMQ puts a classic queue's message back
     * at its old place, ahead of newer ones), then waits for RabbitMQ to have done it: a passive declare of each
     * queue concerned, on this channel, reaches that queue after the nacks.
     */
    void requeue(Collection<AmqpDelivery> ds) throws IOException {
        synchronized (ackLock) {
            Map<String, Integer> back = new java.util.LinkedHashMap<>();
            Map<String, Long> before = new HashMap<>();
            for (AmqpDelivery d : ds) {
                if (quorum && open() && unsettled.contains(d.tag()) && !before.containsKey(d.queue())) {
                    before.put(d.queue(), (long) channel.queueDeclarePassive(d.queue()).getMessageCount());
                }
            }
            for (AmqpDelivery d : ds) {
                if (unsettled.remove(d.tag()) && open()) {
                    channel.basicNack(d.tag(), false, true);
                    back.merge(d.queue(), 1, Integer::sum);
                }
            }
            for (Map.Entry<String, Integer> e : back.entrySet()) {
                long count = channel.queueDeclarePassive(e.getKey()).getMessageCount();
                if (!quorum) {
                    continue;
                }
                // why a bounded poll: the count is read from the leader's applied state, and the returns are applied
                // later; another consumer taking meanwhile can keep the count below, hence the deadline.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (count < before.get(e.getKey()) + e.getValue() && System.nanoTime() < deadline) {
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    count = channel.queueDeclarePassive(e.getKey()).getMessageCount();
                }
            }
        }
    }

    /** Whether the delivery is still held by this (open) channel, i.e. not yet acked or requeued. */
    boolean holds(AmqpDelivery d) {
        return open() && unsettled.contains(d.tag());
    }

    void close() {
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | java.util.concurrent.TimeoutException | RuntimeException e) {
            // Closing the connection closes the channel anyway.
        }
    }

    /** One basic.consume: buffers what it receives, says when RabbitMQ confirmed its end. */
    private final class Subscription extends DefaultConsumer {
        final String queue;
        final CountDownLatch done = new CountDownLatch(1);
        String tag;

        Subscription(String queue) {
            super(channel);
            this.queue = queue;
        }

        @Override
        public void handleDelivery(String consumerTag, Envelope envelope, AMQP.BasicProperties properties,
                                   byte[] body) {
            buffer(queue, envelope, properties, body);
        }

        @Override
        public void handleCancelOk(String consumerTag) {
            done.countDown();
        }

        /** RabbitMQ cancelled us (the queue was deleted): nothing more will come either. */
        @Override
        public void handleCancel(String consumerTag) {
            done.countDown();
        }

        @Override
        public void handleShutdownSignal(String consumerTag, ShutdownSignalException sig) {
            done.countDown();
        }
    }

    /** Buffers a message delivered from {@code queue} (by a subscription or a basic.get), readable or not. */
    private void buffer(String queue, Envelope envelope, AMQP.BasicProperties properties, byte[] body) {
        String token = AmqpDelivery.token(Inbox.this, envelope.getDeliveryTag());
        BrokerMessage message = null;
        String refusal = null;
        try {
            message = AmqpMessages.message(envelope, properties, body, token, maxMessageBytes);
        } catch (MessageRejectedException e) {
            refusal = e.reason();
        } catch (RuntimeException e) {
            refusal = "refused: unreadable message (" + e + ")";
        }
        AmqpDelivery d = new AmqpDelivery(queue, message, Inbox.this, envelope.getDeliveryTag(), properties,
                body, refusal);
        synchronized (Inbox.this) {
            unsettled.add(envelope.getDeliveryTag());
            buffer.computeIfAbsent(queue, k -> new ArrayDeque<>()).add(d);
            Inbox.this.notifyAll();
        }
    }
}
