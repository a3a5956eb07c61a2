package io.celeriac.protocol;

import java.util.Map;
import java.util.Objects;

/**
 * kombu's transport envelope as it sits on Redis: a body (already decoded from base64 to its UTF-8 text), the content
 * type and encoding, headers and properties. Task messages, events and remote-control messages all travel in one.
 *
 * @param body the payload text (JSON for every content type we accept)
 * @param contentType e.g. {@code application/json}
 * @param contentEncoding e.g. {@code utf-8}
 * @param headers message headers (for tasks: the protocol v2 headers); immutable, values are JSON-shaped
 * @param properties kombu properties ({@code correlation_id}, {@code delivery_info}, {@code delivery_tag}, ...)
 */
public record Envelope(String body, String contentType, String contentEncoding,
                       Map<String, Object> headers, Map<String, Object> properties) {
    public Envelope {
        Objects.requireNonNull(body, "body");
        headers = JsonValues.immutableMap(headers);
        properties = JsonValues.immutableMap(properties);
    }

    /** {@code properties.delivery_tag}, the key kombu acks by; may be null for messages not yet published. */
    public String deliveryTag() {
        Object tag = properties.get("delivery_tag");
        return tag == null ? null : tag.toString();
    }
}
