package io.celeriac.redis;

import io.celeriac.broker.DeadLetter;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The records of the dead-letter list: JSON {@code {id, queue, time, reason, payload}}. A message whose bytes are not
 * UTF-8 (or may not be: the reserve script cannot tell) is kept as {@code payload} = base64 of the exact bytes with
 * {@code payload_encoding: "base64"}, so that the record is plain text and nothing of the message is lost.
 */
final class DeadLetterRecords {
    static final String BASE64 = "base64";

    private DeadLetterRecords() {
    }

    /** A record keeping {@code payload} byte for byte, base64-encoded. */
    static byte[] binary(MessageCodec codec, String id, String queue, double time, String reason, byte[] payload) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("id", id);
        record.put("queue", queue);
        record.put("time", time);
        record.put("reason", reason);
        record.put("payload", Base64.getEncoder().encodeToString(payload));
        record.put("payload_encoding", BASE64);
        return codec.writeJson(record).getBytes(StandardCharsets.UTF_8);
    }

    /** A record read back: the dead letter, and the message's exact bytes (what a requeue puts back). */
    record Read(DeadLetter letter, byte[] payload) {
    }

    static Read read(MessageCodec codec, KombuEnvelope kombu, String raw) {
        Map<String, Object> m = codec.readJsonObject(raw);
        Object time = m.get("time");
        Instant at = time instanceof Number n ? Instant.ofEpochMilli(Math.round(n.doubleValue() * 1000)) : null;
        String payload = String.valueOf(m.get("payload"));
        byte[] bytes;
        String text;
        if (BASE64.equals(m.get("payload_encoding"))) {
            bytes = Base64.getDecoder().decode(payload);
            String strict = StrictUtf8.decode(bytes);
            // Text that is not UTF-8 can only be shown with replacement characters; the bytes stay in the record.
            text = strict != null ? strict : new String(bytes, StandardCharsets.UTF_8);
        } else {
            bytes = payload.getBytes(StandardCharsets.UTF_8);
            text = payload;
        }
        BrokerMessage message;
        try {
            message = kombu.decode(text);
        } catch (RuntimeException e) {
            message = null; // not a message at all (why it was dead-lettered): only the raw text shows it
        }
        return new Read(new DeadLetter(String.valueOf(m.get("id")), String.valueOf(m.get("queue")),
                String.valueOf(m.get("reason")), at, message, text), bytes);
    }
}
