package io.celeriac.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * kombu's JSON envelope, the way its virtual transports (Redis among them) store a {@link BrokerMessage} as one
 * string: {@code {"body": <base64>, "content-encoding", "content-type", "headers", "properties"}} with
 * {@code properties.body_encoding = "base64"}. A transport that carries bodies, headers and properties natively
 * (AMQP) never needs it. Thread-safe.
 */
public final class KombuEnvelope {
    /** The transport's own property: how the body is encoded inside the envelope. */
    static final String BODY_ENCODING = "body_encoding";

    private final MessageCodec json;

    public KombuEnvelope(MessageCodec json) {
        // The body inside is base64, a third larger than the body the codec's limit is about: parse with room for it.
        long max = json.maxMessageBytes();
        this.json = json.withMaxMessageBytes(max > Long.MAX_VALUE / 2 ? max : max / 3 * 4 + 64 * 1024);
    }

    /** The envelope text, body base64-encoded as kombu's Redis transport writes it. */
    public String encode(BrokerMessage m) {
        Map<String, Object> properties = new LinkedHashMap<>(m.properties());
        properties.put(BODY_ENCODING, "base64");
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("body", Base64.getEncoder().encodeToString(m.body()));
        env.put("content-encoding", m.contentEncoding());
        env.put("content-type", m.contentType());
        env.put("headers", m.headers());
        env.put("properties", properties);
        return json.writeJson(env);
    }

    /**
     * Reads an envelope; the body comes back as the bytes it encodes and {@code body_encoding} is dropped from the
     * properties. Refuses, with a one-line reason, what is not a kombu envelope.
     */
    public BrokerMessage decode(String text) {
        Object parsed = json.readJson(text);
        if (!(parsed instanceof Map<?, ?> raw)) {
            throw new MessageRejectedException("refused: message is not a JSON object (not a kombu envelope)");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> env = (Map<String, Object>) raw;
        Object body = env.get("body");
        // The parser's own maps: changed in place (body_encoding is the envelope's, not the message's).
        Map<String, Object> properties = env.get("properties") instanceof Map<?, ?> p ? cast(p) : new LinkedHashMap<>();
        Map<String, Object> headers = env.get("headers") instanceof Map<?, ?> h ? cast(h) : Map.of();
        Object encoding = properties.remove(BODY_ENCODING);
        byte[] bytes;
        if (body == null) {
            throw new MessageRejectedException("refused: envelope has no body");
        } else if ("base64".equals(encoding)) {
            try {
                bytes = Base64.getDecoder().decode(body.toString().trim());
            } catch (IllegalArgumentException e) {
                throw new MessageRejectedException("refused: body is not valid base64: " + e.getMessage(), e);
            }
        } else if (encoding == null) {
            // kombu writes a body it did not encode as the JSON value itself.
            bytes = (body instanceof String s ? s : json.writeJson(body)).getBytes(StandardCharsets.UTF_8);
        } else {
            throw new MessageRejectedException("refused: unsupported body_encoding '" + encoding + "'");
        }
        return new BrokerMessage(bytes, string(env.get("content-type")), string(env.get("content-encoding")), headers,
                properties);
    }

    private static String string(Object v) {
        return v == null ? null : v.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }
}
