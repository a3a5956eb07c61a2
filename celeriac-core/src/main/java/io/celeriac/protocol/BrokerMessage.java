package io.celeriac.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A message as every transport carries it, in AMQP's terms (kombu's {@code Message}): a body of bytes, its content
 * type and encoding, application headers and message properties. Task messages, events and remote-control messages
 * all travel as one. How a transport lays it out is its own business: kombu's Redis transport wraps it in a JSON
 * envelope with the body in base64 ({@link KombuEnvelope}); AMQP sends the body as is, with headers and properties
 * in the frame.
 *
 * @param body the encoded payload, exactly as sent (for JSON content: UTF-8 text)
 * @param contentType e.g. {@code application/json}
 * @param contentEncoding e.g. {@code utf-8}
 * @param headers application headers (for tasks: the protocol v2 headers), JSON-shaped; the message keeps a
 *     read-only view of the map it is given, so hand it one nobody changes afterwards
 * @param properties message properties ({@code correlation_id}, {@code reply_to}, {@code delivery_mode},
 *     {@code priority}; a transport may add its own, such as kombu's {@code delivery_info} and {@code delivery_tag});
 *     JSON-shaped, kept as a read-only view like the headers
 */
public record BrokerMessage(byte[] body, @Nullable String contentType, @Nullable String contentEncoding,
                            Map<String, Object> headers, Map<String, Object> properties) {
    public BrokerMessage {
        Objects.requireNonNull(body, "body");
        // Read-only views, not copies: a message is built once per send and per delivery, from maps made for it (the
        // codec's, or a parser's), and copying them cost as much as encoding the body.
        headers = headers == null ? Map.of() : Collections.unmodifiableMap(headers);
        properties = properties == null ? Map.of() : Collections.unmodifiableMap(properties);
    }

    /** A JSON message: UTF-8 text with content type {@code application/json}. */
    public static BrokerMessage json(String bodyText, Map<String, Object> headers, Map<String, Object> properties) {
        return new BrokerMessage(bodyText.getBytes(StandardCharsets.UTF_8), "application/json", "utf-8", headers,
                properties);
    }

    /** The body read as UTF-8, replacing what is not (for logs and display; decoding checks strictly). */
    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** A string property, or null. */
    public @Nullable String property(String name) {
        Object v = properties.get(name);
        return v == null ? null : v.toString();
    }

    /** A copy with one property set (null removes it). */
    public BrokerMessage withProperty(String name, @Nullable Object value) {
        Map<String, Object> p = new java.util.LinkedHashMap<>(properties);
        if (value == null) {
            p.remove(name);
        } else {
            p.put(name, value);
        }
        return new BrokerMessage(body, contentType, contentEncoding, headers, p);
    }

    // A record compares arrays by identity; a message is its bytes.
    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof BrokerMessage m && Arrays.equals(body, m.body)
                && Objects.equals(contentType, m.contentType) && Objects.equals(contentEncoding, m.contentEncoding)
                && headers.equals(m.headers) && properties.equals(m.properties);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(body), contentType, contentEncoding, headers, properties);
    }

    @Override
    public String toString() {
        return "BrokerMessage[" + contentType + ", " + body.length + " bytes, headers=" + headers.keySet()
                + ", properties=" + properties.keySet() + "]";
    }
}
