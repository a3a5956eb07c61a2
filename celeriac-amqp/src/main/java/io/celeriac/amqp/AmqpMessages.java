package io.celeriac.amqp;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Envelope;
import com.rabbitmq.client.LongString;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Maps a {@link BrokerMessage} onto an AMQP basic.publish (properties, headers, body) and back, as kombu's pyamqp
 * transport does ({@code kombu/transport/pyamqp.py} {@code Channel.prepare_message} and {@code Message}): the body
 * goes as is, the protocol v2 headers become the AMQP {@code application_headers} table, and the message properties
 * Celery sets ({@code correlation_id}, {@code reply_to}, {@code delivery_mode}, {@code priority}) become the basic
 * properties of the same names. Header values are typed as py-amqp types them ({@code amqp/serialization.py}
 * {@code _write_item}): strings as long strings, integers as 32-bit ints (64-bit when larger), floats as doubles,
 * booleans, None as void, lists as arrays and dicts as tables.
 *
 * <p>Reading back is strict: a header string that is not UTF-8, a value no JSON type can hold, a body that is not
 * UTF-8 when its content encoding says it is, or a body over the size limit makes the delivery unreadable
 * ({@link MessageRejectedException}); the broker dead-letters it rather than hand out an altered message.
 */
final class AmqpMessages {
    /**
     * Kombu's transport-level properties: {@code delivery_info} and {@code delivery_tag} are assigned on delivery,
     * {@code body_encoding} belongs to the JSON envelope of kombu's virtual transports (Redis); none is sent on AMQP.
     */
    static final List<String> TRANSPORT_PROPERTIES = List.of("delivery_info", "delivery_tag", "body_encoding");
    /** The headers RabbitMQ adds when it dead-letters a message (our delay queues do, once per level). */
    private static final String X_DEATH = "x-death";
    private static final String X_FIRST_DEATH = "x-first-death-";
    private static final String X_LAST_DEATH = "x-last-death-";
    /** What a quorum queue adds to a message it delivers again (its count against {@code x-delivery-limit}). */
    private static final String X_DELIVERY_COUNT = "x-delivery-count";

    private AmqpMessages() {
    }

    /** The basic properties of a message to publish; {@code extraHeaders} are added to its own (may be empty). */
    static AMQP.BasicProperties properties(BrokerMessage m, Map<String, Object> extraHeaders) {
        Map<String, Object> p = m.properties();
        Map<String, Object> headers = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.headers().entrySet()) {
            headers.put(e.getKey(), toAmqp(e.getValue(), e.getKey()));
        }
        headers.putAll(extraHeaders);
        AMQP.BasicProperties.Builder b = new AMQP.BasicProperties.Builder()
                .contentType(m.contentType())
                .contentEncoding(m.contentEncoding())
                .headers(headers)
                // Persistent unless the message says otherwise: tasks are (Celery's task_default_delivery_mode).
                .deliveryMode(p.get("delivery_mode") instanceof Number n ? n.intValue() : 2)
                .priority(p.get("priority") instanceof Number n ? n.intValue() : 0)
                .correlationId(string(p.get("correlation_id")))
                .replyTo(string(p.get("reply_to")))
                .expiration(string(p.get("expiration")))
                .messageId(string(p.get("message_id")))
                .type(string(p.get("type")))
                .userId(string(p.get("user_id")))
                .appId(string(p.get("app_id")));
        if (p.get("timestamp") instanceof Number n) {
            b.timestamp(new Date(n.longValue() * 1000));
        }
        return b.build();
    }

    private static @Nullable String string(@Nullable Object v) {
        return v == null ? null : v.toString();
    }

    /** A JSON-shaped header value as an AMQP field value. */
    private static @Nullable Object toAmqp(@Nullable Object v, String header) {
        if (v == null || v instanceof String || v instanceof Integer || v instanceof Long || v instanceof Boolean
                || v instanceof Double) {
            return v;
        }
        if (v instanceof Short || v instanceof Byte) {
            return ((Number) v).intValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof BigInteger big) {
            if (big.bitLength() < 64) {
                return big.longValue();
            }
            throw new IllegalArgumentException("header '" + header + "': integer " + big + " does not fit AMQP's "
                    + "64-bit field values");
        }
        if (v instanceof BigDecimal d) {
            return d.doubleValue();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> table = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                table.put(String.valueOf(e.getKey()), toAmqp(e.getValue(), header));
            }
            return table;
        }
        if (v instanceof List<?> l) {
            List<Object> array = new ArrayList<>(l.size());
            for (Object o : l) {
                array.add(toAmqp(o, header));
            }
            return array;
        }
        throw new IllegalArgumentException("header '" + header + "': a " + v.getClass().getName() + " has no AMQP "
                + "field type; send JSON values");
    }

    /**
     * The message of a delivery, with kombu's {@code delivery_info} ({@code exchange}, {@code routing_key},
     * {@code redelivered}) and {@code delivery_tag} (our ack token) among its properties.
     */
    static BrokerMessage message(Envelope envelope, AMQP.BasicProperties props, byte[] body, String ackToken,
                                 long maxBytes) {
        if (body.length > maxBytes) {
            throw new MessageRejectedException("refused: message of " + body.length + " bytes exceeds the limit of "
                    + maxBytes + " bytes (celeriac_max_message_bytes); it was not parsed");
        }
        String encoding = props.getContentEncoding();
        if (encoding != null && (encoding.equalsIgnoreCase("utf-8") || encoding.equalsIgnoreCase("utf8"))) {
            // Throws with the offset: decoding with replacement would run the task with altered arguments.
            MessageCodec.strictUtf8(body);
        }
        Map<String, Object> headers = new LinkedHashMap<>();
        if (props.getHeaders() != null) {
            for (Map.Entry<String, Object> e : props.getHeaders().entrySet()) {
                String k = e.getKey();
                if (k.equals(X_DEATH) || k.startsWith(X_FIRST_DEATH) || k.startsWith(X_LAST_DEATH)
                        || k.equals(X_DELIVERY_COUNT)) {
                    continue;
                }
                headers.put(k, fromAmqp(e.getValue(), k));
            }
        }
        Map<String, Object> p = new LinkedHashMap<>();
        // Celery's two string properties of every task message (as_task_v2 in celery/app/amqp.py); AMQP has no null,
        // so one sent as null arrives absent and reads back as the null it was.
        p.put("correlation_id", props.getCorrelationId());
        p.put("reply_to", props.getReplyTo());
        putIfSet(p, "delivery_mode", props.getDeliveryMode());
        putIfSet(p, "priority", props.getPriority());
        putIfSet(p, "expiration", props.getExpiration());
        putIfSet(p, "message_id", props.getMessageId());
        putIfSet(p, "type", props.getType());
        putIfSet(p, "user_id", props.getUserId());
        putIfSet(p, "app_id", props.getAppId());
        if (props.getTimestamp() != null) {
            p.put("timestamp", props.getTimestamp().getTime() / 1000);
        }
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("exchange", envelope.getExchange());
        info.put("routing_key", envelope.getRoutingKey());
        info.put("redelivered", envelope.isRedeliver());
        p.put("delivery_info", info);
        p.put("delivery_tag", ackToken);
        return new BrokerMessage(body, props.getContentType(), encoding, headers, p);
    }

    private static void putIfSet(Map<String, Object> p, String name, Object v) {
        if (v != null) {
            p.put(name, v);
        }
    }

    /** An AMQP field value as a JSON-shaped one, refusing what would change on the way. */
    private static @Nullable Object fromAmqp(@Nullable Object v, String header) {
        if (v == null || v instanceof Integer || v instanceof Long || v instanceof Boolean || v instanceof Double
                || v instanceof String) {
            return v;
        }
        if (v instanceof LongString s) {
            try {
                return MessageCodec.strictUtf8(s.getBytes());
            } catch (MessageRejectedException e) {
                throw new MessageRejectedException("refused: header '" + header + "' is not valid UTF-8; it would "
                        + "be read altered");
            }
        }
        if (v instanceof Short || v instanceof Byte) {
            return ((Number) v).intValue();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof BigDecimal d) {
            return d;
        }
        if (v instanceof Date d) {
            return Instant.ofEpochMilli(d.getTime()).toString();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> table = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                table.put(String.valueOf(e.getKey()), fromAmqp(e.getValue(), header));
            }
            return table;
        }
        if (v instanceof List<?> l) {
            List<Object> array = new ArrayList<>(l.size());
            for (Object o : l) {
                array.add(fromAmqp(o, header));
            }
            return array;
        }
        throw new MessageRejectedException("refused: header '" + header + "' holds " + (v instanceof byte[]
                ? "a byte array" : "a " + v.getClass().getSimpleName()) + ", which has no JSON form");
    }

    /** For logs and dead-letter display: the body as text when it is UTF-8, else base64. */
    static String display(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8);
        if (s.indexOf('\uFFFD') < 0) {
            return s;
        }
        try {
            return MessageCodec.strictUtf8(body);
        } catch (MessageRejectedException e) {
            return java.util.Base64.getEncoder().encodeToString(body);
        }
    }
}
