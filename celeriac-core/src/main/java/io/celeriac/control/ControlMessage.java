package io.celeriac.control;

import io.celeriac.protocol.MessageRejectedException;

import io.celeriac.protocol.JsonValues;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A remote-control command (Celery's pidbox "broadcast"): e.g. {@code revoke} with {@code task_id}, or
 * {@code ping}. Replies, when asked for, go to {@code replyTo}.
 *
 * @param method command name as Celery spells it ({@code revoke}, {@code ping}, {@code rate_limit}, ...)
 * @param arguments command arguments as JSON values
 * @param destination node names that should act, or empty for all
 * @param ticket correlation id of the request, or null when no reply is wanted
 * @param replyTo reply queue id, or null when no reply is wanted
 */
public record ControlMessage(String method, Map<String, Object> arguments, List<String> destination,
                             @Nullable String ticket, @Nullable String replyTo) {
    public ControlMessage {
        arguments = JsonValues.immutableMap(arguments);
        destination = destination == null ? List.of() : List.copyOf(destination);
    }

    public static ControlMessage of(String method, Map<String, Object> arguments) {
        return new ControlMessage(method, arguments, List.of(), null, null);
    }

    public boolean isFor(String hostname) {
        return destination.isEmpty() || destination.contains(hostname);
    }

    /**
     * The body of kombu's pidbox message for this command ({@code kombu/pidbox.py}, {@code Mailbox._broadcast}), the
     * same on every transport; replies are asked for through {@code replyExchange}.
     */
    public Map<String, Object> celeryBody(String replyExchange) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", method);
        body.put("arguments", arguments);
        body.put("destination", destination.isEmpty() ? null : destination);
        body.put("pattern", null);
        body.put("matcher", null);
        if (replyTo != null) {
            body.put("ticket", ticket);
            Map<String, Object> reply = new LinkedHashMap<>();
            reply.put("exchange", replyExchange);
            reply.put("routing_key", replyTo);
            body.put("reply_to", reply);
        }
        return body;
    }

    /** Reads a pidbox message body (any transport); refuses what is not a JSON object. */
    /** The body of a worker's reply to this command, as kombu's pidbox sends it: {@code {hostname: answer}}. */
    public static Map<String, Object> replyBody(String hostname, @Nullable Object answer) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put(hostname, answer);
        return body;
    }

    /**
     * The headers of a reply to this command: its {@code ticket}, and the sender's logical {@code clock} (a number,
     * typed as the transport writes it: AMQP keeps it a 32-bit int while it fits, as py-amqp does).
     */
    public Map<String, Object> replyHeaders(Object clock) {
        Map<String, Object> headers = new java.util.LinkedHashMap<>();
        headers.put("ticket", ticket());
        headers.put("clock", clock);
        return headers;
    }

    public static ControlMessage fromCeleryBody(@Nullable Object parsed) {
        if (!(parsed instanceof Map<?, ?> body)) {
            throw new MessageRejectedException("refused: not a JSON object");
        }
        List<String> destination = new ArrayList<>();
        if (body.get("destination") instanceof List<?> l) {
            l.forEach(x -> destination.add(String.valueOf(x)));
        }
        String replyKey = body.get("reply_to") instanceof Map<?, ?> r && r.get("routing_key") != null
                ? r.get("routing_key").toString() : null;
        @SuppressWarnings("unchecked")
        Map<String, Object> args = body.get("arguments") instanceof Map<?, ?> a ? (Map<String, Object>) a : Map.of();
        Object ticket = body.get("ticket");
        return new ControlMessage(String.valueOf(body.get("method")), args, destination,
                ticket == null ? null : ticket.toString(), replyKey);
    }
}
