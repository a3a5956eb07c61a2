package io.celeriac.backend;

import io.celeriac.protocol.JsonValues;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A task's state and result as Celery's result backends store it ({@code celery-task-meta-<id>} on Redis).
 *
 * @param taskId the task id
 * @param status a {@link TaskState} constant or a custom state
 * @param result the JSON return value on SUCCESS; on FAILURE/RETRY/REVOKED an exception map with {@code exc_type},
 *               {@code exc_message} (a list) and {@code exc_module}; progress meta for custom states
 * @param traceback traceback text on failure, else null
 * @param children ids/results of subtasks (kept as Celery wrote them)
 * @param dateDone when the state was written (UTC)
 * @param parentId the parent task id, when set
 * @param extra fields Celery writes with {@code result_extended} (name, args, kwargs, worker, retries, queue) or that
 *              newer versions add; kept so a document round-trips
 * @param replyTo where a backend that sends results as messages ({@code rpc://}) sends this one: the task message's
 *              {@code reply_to}, the caller's reply queue; null when unknown. Not part of the stored document.
 */
public record ResultDocument(String taskId, String status, @Nullable Object result, @Nullable String traceback,
                             List<Object> children, @Nullable Instant dateDone, @Nullable String parentId,
                             Map<String, Object> extra, @Nullable String replyTo) {
    public ResultDocument {
        Objects.requireNonNull(taskId, "taskId");
        Objects.requireNonNull(status, "status");
        children = children == null ? List.of() : JsonValues.immutableList(children);
        extra = JsonValues.immutableMap(extra);
    }

    public ResultDocument(String taskId, String status, @Nullable Object result, @Nullable String traceback,
                          List<Object> children, @Nullable Instant dateDone, @Nullable String parentId,
                          Map<String, Object> extra) {
        this(taskId, status, result, traceback, children, dateDone, parentId, extra, null);
    }

    /** This document, to be sent to {@code replyTo} by a backend that sends results as messages. */
    public ResultDocument withReplyTo(@Nullable String replyTo) {
        return new ResultDocument(taskId, status, result, traceback, children, dateDone, parentId, extra, replyTo);
    }

    public static ResultDocument of(String taskId, String status, @Nullable Object result) {
        return new ResultDocument(taskId, status, result, null, List.of(), Instant.now(), null, Map.of());
    }

    public boolean ready() {
        return TaskState.isReady(status);
    }

    /** For FAILURE-like documents: {@code result.exc_type}, else null. */
    public @Nullable String excType() {
        return result instanceof Map<?, ?> m && m.get("exc_type") != null ? m.get("exc_type").toString() : null;
    }

    /** For FAILURE-like documents: the first element of {@code result.exc_message}, else null. */
    public @Nullable String excMessage() {
        if (result instanceof Map<?, ?> m) {
            Object msg = m.get("exc_message");
            if (msg instanceof List<?> l) {
                return l.isEmpty() ? "" : String.valueOf(l.get(0));
            }
            return msg == null ? null : msg.toString();
        }
        return null;
    }
}
