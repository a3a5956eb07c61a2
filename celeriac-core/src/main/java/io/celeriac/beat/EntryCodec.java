package io.celeriac.beat;

import io.celeriac.protocol.MessageCodec;

import java.time.Instant;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Entries and their state as JSON, for stores that keep text (Redis). */
public final class EntryCodec {
    private final MessageCodec json;
    private final ZoneId defaultZone;

    public EntryCodec(MessageCodec json, ZoneId defaultZone) {
        this.json = json;
        this.defaultZone = defaultZone;
    }

    public String encode(ScheduleEntry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", e.name());
        m.put("task", e.task());
        m.put("args", e.args());
        m.put("kwargs", e.kwargs());
        m.put("schedule", e.schedule().spec());
        m.put("queue", e.queue());
        m.put("priority", e.priority());
        m.put("expires", e.expiresSeconds());
        m.put("enabled", e.enabled());
        m.put("one_off", e.oneOff());
        m.put("start_time", e.startTime() == null ? null : e.startTime().toString());
        m.put("end_time", e.endTime() == null ? null : e.endTime().toString());
        m.put("catch_up", e.catchUp());
        return json.writeJson(m);
    }

    @SuppressWarnings("unchecked")
    public ScheduleEntry decode(String text) {
        Map<String, Object> m = json.readJsonObject(text);
        return new ScheduleEntry((String) m.get("name"), (String) m.get("task"), (List<Object>) m.get("args"),
                (Map<String, Object>) m.get("kwargs"), Schedules.parse((String) m.get("schedule"), defaultZone),
                (String) m.get("queue"), m.get("priority") == null ? null : ((Number) m.get("priority")).intValue(),
                m.get("expires") == null ? null : ((Number) m.get("expires")).doubleValue(),
                !Boolean.FALSE.equals(m.get("enabled")), Boolean.TRUE.equals(m.get("one_off")),
                m.get("start_time") == null ? null : Instant.parse((String) m.get("start_time")),
                m.get("end_time") == null ? null : Instant.parse((String) m.get("end_time")),
                !Boolean.FALSE.equals(m.get("catch_up")));
    }

    public String encodeState(EntryState s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("last_due", s.lastDue() == null ? null : s.lastDue().toString());
        m.put("last_run_at", s.lastRunAt() == null ? null : s.lastRunAt().toString());
        m.put("total_run_count", s.totalRunCount());
        return json.writeJson(m);
    }

    public EntryState decodeState(@Nullable String text) {
        if (text == null) {
            return EntryState.NEW;
        }
        Map<String, Object> m = json.readJsonObject(text);
        return new EntryState(m.get("last_due") == null ? null : Instant.parse((String) m.get("last_due")),
                m.get("last_run_at") == null ? null : Instant.parse((String) m.get("last_run_at")),
                ((Number) m.getOrDefault("total_run_count", 0)).longValue());
    }
}
