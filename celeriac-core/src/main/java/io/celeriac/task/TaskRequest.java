package io.celeriac.task;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a running task knows about its own invocation: Celery's {@code self.request}.
 *
 * @param id task id
 * @param task registered task name
 * @param args positional arguments as JSON values
 * @param kwargs keyword arguments as JSON values
 * @param retries how many times this task was retried before this run
 * @param eta the ETA the message carried, or null
 * @param expires the expiry the message carried, or null
 * @param parentId id of the task that sent this one, or null
 * @param rootId id of the first task of the workflow, or null when the message names none
 * @param groupId group id when part of a group/chord, or null
 * @param hostname the worker's node name ({@code celery@host})
 * @param exchange delivery exchange
 * @param routingKey delivery routing key
 * @param queue the queue the message came from
 * @param headers message headers beyond Celery's own (e.g. {@code traceparent}), as sent
 */
public record TaskRequest(String id, String task, List<Object> args, Map<String, Object> kwargs, int retries,
                          @Nullable Instant eta, @Nullable Instant expires, @Nullable String parentId,
                          @Nullable String rootId, @Nullable String groupId, String hostname, String exchange,
                          @Nullable String routingKey, @Nullable String queue, Map<String, Object> headers) {
    public TaskRequest {
        headers = headers == null ? Map.of() : headers;
    }
}
