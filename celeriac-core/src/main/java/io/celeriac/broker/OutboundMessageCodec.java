package io.celeriac.broker;

import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An {@link OutboundMessage} as JSON text and back, for stores that keep a message to publish later (a
 * {@link DispatchLedger}): {@code {"queue", "priority", "task_id", "eta", "message"}}, the message itself in kombu's
 * envelope ({@link KombuEnvelope}: body in base64, so any bytes survive; headers and properties as JSON). Whatever
 * broker publishes it later, it publishes what was recorded: {@code decode(encode(m))} equals {@code m}. No Java
 * serialization. Thread-safe.
 */
public final class OutboundMessageCodec {
    private final MessageCodec json;
    private final KombuEnvelope kombu;

    public OutboundMessageCodec() {
        this(new MessageCodec());
    }

    public OutboundMessageCodec(MessageCodec json) {
        // What is read back was written here, whatever its size: no message limit on reading it.
        this.json = json.withMaxMessageBytes(Integer.MAX_VALUE);
        this.kombu = new KombuEnvelope(this.json);
    }

    public String encode(OutboundMessage m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("queue", m.queue());
        out.put("priority", m.priority());
        out.put("task_id", m.taskId());
        out.put("eta", m.eta() == null ? null : m.eta().toString());
        // Nested as a JSON object rather than a string in a string: a record in a database stays readable.
        out.put("message", json.readJson(kombu.encode(m.message())));
        return json.writeJson(out);
    }

    /** @throws io.celeriac.protocol.MessageRejectedException if {@code text} is not what {@link #encode} writes */
    public OutboundMessage decode(String text) {
        Map<String, Object> in = json.readJsonObject(text);
        Object eta = in.get("eta");
        Object taskId = in.get("task_id");
        return new OutboundMessage((String) in.get("queue"), ((Number) in.get("priority")).intValue(),
                kombu.decode(json.writeJson(in.get("message"))), taskId == null ? null : taskId.toString(),
                eta == null ? null : Instant.parse(eta.toString()));
    }
}
