package io.celeriac.dashboard;

import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.beat.Schedules;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.celeriac.dashboard.Json.body;
import static io.celeriac.dashboard.Json.found;
import static io.celeriac.dashboard.Json.send;
import static io.celeriac.dashboard.Json.str;

/**
 * The JSON API under {@code /api/schedules}: beat's entries with their state and next run, and adding, editing,
 * enabling, running now and deleting them, in the configured {@link ScheduleStore}.
 */
final class ScheduleRoutes {
    private final Dashboard dashboard;

    ScheduleRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/schedules", this::schedules);
        routes.post("/api/schedules", this::saveSchedule);
        routes.post("/api/schedules/{name}/enabled", ctx -> {
            Map<String, Object> b = body(ctx);
            ScheduleStore s = dashboard.requireSchedules();
            ScheduleEntry e = s.entry(ctx.pathParam("name")).orElse(null);
            if (e == null) {
                found(ctx, false);
                return;
            }
            s.save(e.withEnabled(Boolean.TRUE.equals(b.get("enabled"))));
            send(ctx, Map.of("ok", true));
        });
        routes.post("/api/schedules/{name}/run", ctx -> {
            body(ctx);
            send(ctx, Map.of("id", dashboard.runScheduleNow(ctx.pathParam("name"))));
        });
        routes.post("/api/schedules/{name}/delete", ctx -> {
            body(ctx);
            found(ctx, dashboard.requireSchedules().remove(ctx.pathParam("name")));
        });
    }

    private void schedules(Context ctx) {
        if (dashboard.scheduleStore().isEmpty()) {
            send(ctx, Map.of("configured", false, "entries", List.of()));
            return;
        }
        List<Map<String, Object>> entries = new ArrayList<>();
        for (ScheduleEntry e : dashboard.scheduleStore().get().entries()) {
            EntryState s = dashboard.scheduleState(e.name());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("task", e.task());
            m.put("schedule", e.schedule().spec());
            m.put("args", e.args());
            m.put("kwargs", e.kwargs());
            m.put("queue", e.queue());
            m.put("enabled", e.enabled());
            m.put("oneOff", e.oneOff());
            m.put("lastRunAt", s.lastRunAt() == null ? null : s.lastRunAt().toString());
            m.put("totalRunCount", s.totalRunCount());
            Instant next = e.schedule().nextAfter(s.lastDue() == null ? Instant.now() : s.lastDue()).orElse(null);
            m.put("nextDue", next == null ? null : next.toString());
            entries.add(m);
        }
        send(ctx, Map.of("configured", true, "entries", entries));
    }

    @SuppressWarnings("unchecked")
    private void saveSchedule(Context ctx) {
        Map<String, Object> b = body(ctx);
        ScheduleStore store = dashboard.requireSchedules();
        String name = str(b.get("name"));
        String task = str(b.get("task"));
        String spec = str(b.get("schedule"));
        if (name == null || task == null || spec == null) {
            throw new IllegalArgumentException("name, task and schedule are required");
        }
        Object args = b.getOrDefault("args", List.of());
        Object kwargs = b.getOrDefault("kwargs", Map.of());
        if (!(args instanceof List) || !(kwargs instanceof Map)) {
            throw new IllegalArgumentException("args must be a JSON list and kwargs a JSON object");
        }
        ScheduleEntry old = store.entry(name).orElse(null);
        String previous = str(b.get("previousName"));
        ScheduleEntry e = new ScheduleEntry(name, task, (List<Object>) args, (Map<String, Object>) kwargs,
                Schedules.parse(spec, dashboard.app().config().timezone()), str(b.get("queue")),
                old == null ? null : old.priority(), old == null ? null : old.expiresSeconds(),
                !Boolean.FALSE.equals(b.get("enabled")), old != null && old.oneOff(),
                old == null ? null : old.startTime(), old == null ? null : old.endTime(),
                old == null || old.catchUp());
        store.save(e);
        if (previous != null && !previous.equals(name)) {
            store.remove(previous);
        }
        send(ctx, Map.of("ok", true, "schedule", e.schedule().spec()));
    }
}
