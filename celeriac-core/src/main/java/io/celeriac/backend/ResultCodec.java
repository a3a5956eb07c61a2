package io.celeriac.backend;

import io.celeriac.protocol.JsonValues;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Result documents as Celery's result backends store them ({@code celery-task-meta-<id>} on Redis): status, result,
 * traceback, children, date_done (UTC, no offset, as Celery 5.2 writes), task_id and parent_id.
 */
public final class ResultCodec {
    private static final Set<String> KNOWN = Set.of("status", "result", "traceback", "children", "date_done",
            "task_id", "parent_id");
    private static final DateTimeFormatter DATE_DONE = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS");

    private final MessageCodec json;

    public ResultCodec(MessageCodec json) {
        this.json = json;
    }

    public ResultCodec() {
        this(new MessageCodec());
    }

    /** The document's JSON, keys in Celery's order. */
    public String encode(ResultDocument d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", d.status());
        m.put("result", d.result());
        m.put("traceback", d.traceback());
        m.put("children", d.children());
        m.put("date_done", d.dateDone() == null ? null
                : d.dateDone().atOffset(ZoneOffset.UTC).toLocalDateTime().format(DATE_DONE));
        if (d.parentId() != null) {
            m.put("parent_id", d.parentId());
        }
        m.put("task_id", d.taskId());
        d.extra().forEach(m::putIfAbsent);
        return json.writeJson(m);
    }

    public ResultDocument decode(String text) {
        Map<String, Object> m = json.readJsonObject(text);
        Object status = m.get("status");
        Object taskId = m.get("task_id");
        if (status == null || taskId == null) {
            throw new MessageRejectedException("refused: result document without status or task_id");
        }
        Map<String, Object> extra = new LinkedHashMap<>(m);
        KNOWN.forEach(extra::remove);
        Object children = m.get("children");
        return new ResultDocument(taskId.toString(), status.toString(), m.get("result"),
                m.get("traceback") == null ? null : m.get("traceback").toString(),
                children instanceof List<?> l ? new java.util.ArrayList<Object>(l) : List.of(),
                JsonValues.instant(m.get("date_done"), "date_done"), m.get("parent_id") == null ? null : m.get("parent_id").toString(),
                extra);
    }

    /** Celery's failure result: {@code {"exc_type", "exc_message": [message], "exc_module"}}. */
    public static Map<String, Object> exceptionResult(String excType, String excModule, @Nullable String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("exc_type", excType);
        m.put("exc_message", List.of(message == null ? "" : message));
        m.put("exc_module", excModule);
        return m;
    }
}
