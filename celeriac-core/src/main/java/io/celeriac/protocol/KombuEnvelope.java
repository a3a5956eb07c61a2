package io.celeriac.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

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
        // Base64 never needs JSON escaping: written raw, skipping the generator's check of every character.
        return json.write(g -> write(g, m, () -> g.writeRawValue(
                '"' + Base64.getEncoder().encodeToString(m.body()) + '"')));
    }

    /**
     * The same envelope as {@link #encode}, as UTF-8 bytes written as bytes throughout: for large messages sent as
     * bytes (batches of task events), where the text form was copied out of the writer, encoded to
     * UTF-8 and copied once more by the client.
     */
    public byte[] encodeBytes(BrokerMessage m) {
        return json.writeBytes(g -> write(g, m, () -> {
            byte[] base64 = Base64.getEncoder().encode(m.body());
            g.writeRawUTF8String(base64, 0, base64.length); // quoted, not escaped: base64 needs none
        }));
    }

    /** Writes the body's value (the field name is written already). */
    private interface BodyValue {
        void write() throws IOException;
    }

    private void write(JsonGenerator g, BrokerMessage m, BodyValue body) throws IOException {
        // Written field by field: building the envelope as maps first (and copying the properties to add
        // body_encoding) cost more than writing it.
        g.writeStartObject();
        g.writeFieldName("body");
        body.write();
        g.writeStringField("content-encoding", m.contentEncoding());
        g.writeStringField("content-type", m.contentType());
        g.writeFieldName("headers");
        json.writeValue(g, m.headers());
        g.writeFieldName("properties");
        g.writeStartObject();
        boolean encodingWritten = false;
        for (Map.Entry<String, Object> e : m.properties().entrySet()) {
            g.writeFieldName(e.getKey());
            if (BODY_ENCODING.equals(e.getKey())) {
                g.writeString("base64");
                encodingWritten = true;
            } else {
                json.writeValue(g, e.getValue());
            }
        }
        if (!encodingWritten) {
            g.writeStringField(BODY_ENCODING, "base64");
        }
        g.writeEndObject();
        g.writeEndObject();
    }

    /**
     * Reads an envelope; the body comes back as the bytes it encodes and {@code body_encoding} is dropped from the
     * properties. Refuses, with a one-line reason, what is not a kombu envelope.
     */
    public BrokerMessage decode(String text) {
        Parts env = json.read(text, Parts::read);
        Object body = env.body;
        Map<String, Object> properties = env.properties instanceof Map<?, ?> p ? cast(p) : new LinkedHashMap<>();
        Map<String, Object> headers = env.headers instanceof Map<?, ?> h ? cast(h) : Map.of();
        // The parser's own map: changed in place (body_encoding is the envelope's, not the message's).
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
        return new BrokerMessage(bytes, string(env.contentType), string(env.contentEncoding), headers, properties);
    }

    /** The envelope's fields as parsed (any JSON value each); unknown fields are checked for syntax and dropped. */
    private static final class Parts {
        @Nullable Object body;
        @Nullable Object contentType;
        @Nullable Object contentEncoding;
        @Nullable Object headers;
        @Nullable Object properties;

        static Parts read(JsonParser p) throws IOException {
            JsonToken first = p.nextToken();
            if (first != JsonToken.START_OBJECT) {
                if (first != null) {
                    PlainJson.read(p, first); // a malformed value is refused as malformed, before what it is
                }
                throw new MessageRejectedException(first == null ? "refused: malformed JSON: no content"
                        : "refused: message is not a JSON object (not a kombu envelope)");
            }
            Parts parts = new Parts();
            for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                JsonToken t = p.nextToken();
                switch (name) {
                    case "body" -> parts.body = PlainJson.read(p, t);
                    case "content-type" -> parts.contentType = PlainJson.read(p, t);
                    case "content-encoding" -> parts.contentEncoding = PlainJson.read(p, t);
                    case "headers" -> parts.headers = PlainJson.read(p, t);
                    case "properties" -> parts.properties = PlainJson.read(p, t);
                    default -> p.skipChildren();
                }
            }
            return parts;
        }
    }

    private static @Nullable String string(@Nullable Object v) {
        return v == null ? null : v.toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }
}
