package io.celeriac.control;

import io.celeriac.protocol.JsonValues;

import java.util.List;
import java.util.Map;

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
public record ControlMessage(String method, Map<String, Object> arguments, List<String> destination, String ticket,
                             String replyTo) {
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
}
