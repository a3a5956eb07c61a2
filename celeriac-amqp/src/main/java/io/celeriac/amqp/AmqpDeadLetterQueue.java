package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.GetResponse;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageRejectedException;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * The dead-letter queue on RabbitMQ: a durable queue (named as the Redis broker names its dead-letter list,
 * {@code dead_letter_queue}, default {@code celeriac.dead_letter}) of messages as they were received, each with its
 * reason, source queue, time and record id in {@code x-celeriac-*} headers.
 *
 * <p>A queue cannot be read without taking from it, so browsing gets messages on a channel of its own without
 * acking them and closes the channel, which puts them all back in their places; requeue and discard ack the one
 * they want before closing. While one caller browses, the records it holds are invisible to another; at most
 * {@value #MAX_BROWSE} records are looked at per call.
 */
final class AmqpDeadLetterQueue implements DeadLetterQueue {
    static final int MAX_BROWSE = 10_000;
    private static final String X_FIRST_DEATH_REASON = "x-first-death-reason";

    private final AmqpBroker broker;
    private final String queue;
    private final long maxMessageBytes;

    AmqpDeadLetterQueue(AmqpBroker broker, String queue, long maxMessageBytes) {
        this.broker = broker;
        this.queue = queue;
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    public List<DeadLetter> list(int limit) {
        List<DeadLetter> all = browse(null, (ch, r) -> false);
        Collections.reverse(all);
        return all.size() > limit ? List.copyOf(all.subList(0, limit)) : all;
    }

    @Override
    public long count() {
        return broker.queueLength(queue);
    }

    @Override
    public boolean requeue(String id) {
        return !browse(id, (ch, r) -> {
            AMQP.BasicProperties props = r.getProps();
            Object target = props.getHeaders().getOrDefault(AmqpBroker.H_QUEUE,
                    props.getHeaders().get("x-first-death-queue"));
            broker.requeueDeadLetter(String.valueOf(target), withoutRecordHeaders(props), r.getBody());
            return true;
        }).isEmpty();
    }

    @Override
    public boolean discard(String id) {
        return !browse(id, (ch, r) -> true).isEmpty();
    }

    /**
     * Reads records on a channel of its own. With {@code id} null, all of them (up to {@link #MAX_BROWSE}); else up
     * to the record {@code id}, which {@code found} handles and, if it returns true, is acked. Closing the channel
     * returns everything else.
     */
    private List<DeadLetter> browse(String id, Found found) {
        AmqpLink l = broker.link();
        List<DeadLetter> out = new ArrayList<>();
        Channel ch = null;
        try {
            ch = l.newChannel();
            for (int i = 0; i < MAX_BROWSE; i++) {
                GetResponse r = ch.basicGet(queue, false);
                if (r == null) {
                    break;
                }
                DeadLetter letter = letter(r);
                if (id == null) {
                    out.add(letter);
                } else if (id.equals(letter.id())) {
                    if (found.handle(ch, r)) {
                        ch.basicAck(r.getEnvelope().getDeliveryTag(), false);
                    }
                    out.add(letter);
                    break;
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            if (AmqpLink.replyCode(e) == AMQP.NOT_FOUND) {
                return out; // no dead letter was ever written
            }
            throw new BrokerUnavailableException("Reading the dead-letter queue '" + queue + "' failed: "
                    + e.getMessage(), e);
        } finally {
            if (ch != null && ch.isOpen()) {
                try {
                    ch.close();
                } catch (IOException | TimeoutException | RuntimeException ignored) {
                    // closing the connection later returns them all the same
                }
            }
        }
    }

    private DeadLetter letter(GetResponse r) {
        AMQP.BasicProperties props = r.getProps();
        Map<String, Object> h = props.getHeaders() == null ? Map.of() : props.getHeaders();
        if (h.get(AmqpBroker.H_ID) == null && h.get(X_FIRST_DEATH_REASON) != null) {
            props = props.builder().headers(fromRabbitMq(h, r.getBody())).build();
            h = props.getHeaders();
        }
        String id = str(h.get(AmqpBroker.H_ID));
        Instant time;
        try {
            time = Instant.parse(str(h.get(AmqpBroker.H_TIME)));
        } catch (DateTimeParseException | NullPointerException e) {
            time = Instant.EPOCH;
        }
        BrokerMessage message;
        try {
            message = AmqpMessages.message(r.getEnvelope(), withoutRecordHeaders(props), r.getBody(),
                    id == null ? "" : id, maxMessageBytes);
        } catch (MessageRejectedException e) {
            message = null;
        }
        return new DeadLetter(id == null ? "" : id, str(h.get(AmqpBroker.H_QUEUE)), str(h.get(AmqpBroker.H_REASON)),
                time, message, AmqpMessages.display(r.getBody()));
    }

    /**
     * The record headers of a message RabbitMQ dead-lettered itself (a quorum queue's delivery limit): the reason,
     * queue and time from its {@code x-first-death-*} and {@code x-death} headers, and an id derived from those and
     * the body, so the same record has the same id at every browse (nothing can be written back into a queue).
     */
    static Map<String, Object> fromRabbitMq(Map<String, Object> h, byte[] body) {
        Map<String, Object> out = new java.util.LinkedHashMap<>(h);
        String reason = str(h.get(X_FIRST_DEATH_REASON));
        String queue = str(h.get("x-first-death-queue"));
        Object time = null;
        long count = 0;
        if (h.get("x-death") instanceof List<?> deaths && !deaths.isEmpty() && deaths.get(0) instanceof Map<?, ?> d) {
            time = d.get("time");
            count = d.get("count") instanceof Number n ? n.longValue() : 0;
        }
        Instant at = time instanceof java.util.Date date ? date.toInstant() : Instant.EPOCH;
        String what = "delivery_limit".equals(reason)
                ? "delivered more times than the queue's delivery limit (x-delivery-limit)"
                : "rejected".equals(reason) ? "rejected without requeue" : reason;
        out.put(AmqpBroker.H_REASON, "dead-lettered by RabbitMQ (" + reason + "): " + what);
        out.put(AmqpBroker.H_QUEUE, queue);
        out.put(AmqpBroker.H_TIME, at.toString());
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(body);
        out.put(AmqpBroker.H_ID, java.util.UUID.nameUUIDFromBytes((queue + "|" + at.toEpochMilli() + "|" + count
                + "|" + crc.getValue() + "|" + str(h.get("id"))).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .toString());
        return out;
    }

    private static @Nullable String str(@Nullable Object v) {
        return v == null ? null : v.toString();
    }

    private static AMQP.BasicProperties withoutRecordHeaders(AMQP.BasicProperties props) {
        Map<String, Object> h = new java.util.LinkedHashMap<>(props.getHeaders() == null ? Map.of()
                : props.getHeaders());
        h.remove(AmqpBroker.H_REASON);
        h.remove(AmqpBroker.H_QUEUE);
        h.remove(AmqpBroker.H_TIME);
        h.remove(AmqpBroker.H_ID);
        // RabbitMQ's own dead-lettering history and a quorum queue's count: a requeued record starts afresh.
        h.keySet().removeIf(k -> k.equals("x-death") || k.startsWith("x-first-death-")
                || k.startsWith("x-last-death-") || k.equals("x-delivery-count"));
        return props.builder().headers(h).build();
    }

    private interface Found {
        boolean handle(Channel ch, GetResponse r) throws IOException;
    }
}
