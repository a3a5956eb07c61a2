package io.celeriac.dashboard;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.celeriac.dashboard.Json.body;
import static io.celeriac.dashboard.Json.error;
import static io.celeriac.dashboard.Json.found;
import static io.celeriac.dashboard.Json.send;
import static io.celeriac.dashboard.Json.str;

/**
 * The JSON API under {@code /api/tasks}: the task list with its filters, one task (from the history, else the result
 * backend), its workflow tree; retry, revoke and discard, one task or all failed ones matching a filter.
 */
final class TaskRoutes {
    private final Dashboard dashboard;

    TaskRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/tasks", this::tasks);
        routes.get("/api/tasks/{id}", this::task);
        routes.get("/api/tasks/{id}/workflow", this::workflow);
        routes.post("/api/tasks/retry-all", ctx -> {
            Map<String, Object> b = body(ctx);
            TaskQuery q = new TaskQuery(Set.of("FAILURE"), str(b.get("name")), str(b.get("search")), null, 0, 1);
            send(ctx, Map.of("retried", dashboard.retryAll(q)));
        });
        routes.post("/api/tasks/discard-failed", ctx -> {
            Map<String, Object> b = body(ctx);
            TaskQuery q = new TaskQuery(Set.of("FAILURE"), str(b.get("name")), str(b.get("search")), null, 0, 1);
            send(ctx, Map.of("discarded", dashboard.discardFailed(q)));
        });
        routes.post("/api/tasks/{id}/discard", ctx -> {
            body(ctx);
            found(ctx, dashboard.history().remove(List.of(ctx.pathParam("id"))) == 1);
        });
        routes.post("/api/tasks/{id}/retry", ctx -> {
            body(ctx);
            send(ctx, Map.of("id", dashboard.retry(ctx.pathParam("id"))));
        });
        routes.post("/api/tasks/{id}/revoke", ctx -> {
            Map<String, Object> b = body(ctx);
            dashboard.revoke(ctx.pathParam("id"), Boolean.TRUE.equals(b.get("terminate")));
            send(ctx, Map.of("ok", true));
        });
    }

    private void tasks(Context ctx) {
        Set<String> states = new LinkedHashSet<>();
        String st = ctx.queryParam("state");
        if (st != null && !st.isBlank()) {
            Arrays.stream(st.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(states::add);
        }
        TaskQuery q = new TaskQuery(states, ctx.queryParam("name"), ctx.queryParam("search"),
                ctx.queryParam("worker"), ctx.queryParam("root"), ctx.queryParam("parent"), intParam(ctx, "offset", 0),
                intParam(ctx, "limit", 50));
        TaskHistory.Page page = dashboard.history().query(q);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("total", page.total());
        out.put("offset", page.offset());
        out.put("limit", page.limit());
        out.put("historySize", dashboard.history().size());
        out.put("names", dashboard.history().names());
        out.put("items", page.items().stream().map(TaskRoutes::summary).toList());
        send(ctx, out);
    }

    /** A task as the task list and the live stream show it. */
    static Map<String, Object> summary(TaskRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("name", r.name());
        m.put("state", r.state());
        m.put("args", r.args());
        m.put("kwargs", r.kwargs());
        m.put("result", r.result());
        m.put("exception", r.exception());
        m.put("worker", r.worker());
        m.put("received", r.received());
        m.put("started", r.started());
        m.put("finished", r.finished());
        m.put("runtime", r.runtime());
        m.put("retries", r.retries());
        m.put("retriedAs", r.retriedAs());
        m.put("rootId", r.rootId());
        m.put("parentId", r.parentId());
        return m;
    }

    /** The task's workflow as a tree in display order: each node with its depth and parent (see {@link Workflow}). */
    private void workflow(Context ctx) {
        String id = ctx.pathParam("id");
        Workflow w = dashboard.history().workflow(id, intParam(ctx, "limit", Workflow.DEFAULT_LIMIT)).orElse(null);
        if (w == null) {
            error(ctx, 404, "no task " + id + " in the history");
            return;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rootId", w.rootId());
        out.put("taskId", w.taskId());
        out.put("total", w.total());
        out.put("states", w.states());
        out.put("shown", w.nodes().size());
        out.put("hidden", w.hidden());
        out.put("childrenShown", Workflow.CHILDREN_SHOWN);
        List<Map<String, Object>> nodes = new ArrayList<>(w.nodes().size());
        for (Workflow.Node n : w.nodes()) {
            TaskRecord r = n.task();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("name", r.name());
            m.put("state", r.state());
            m.put("parentId", r.parentId());
            m.put("depth", n.depth());
            m.put("received", r.received());
            m.put("started", r.started());
            m.put("finished", r.finished());
            m.put("runtime", r.runtime());
            m.put("worker", r.worker());
            m.put("children", n.children());
            m.put("hiddenChildren", n.hiddenChildren());
            m.put("hiddenStates", n.hiddenStates());
            nodes.add(m);
        }
        out.put("nodes", nodes);
        send(ctx, out);
    }

    private void task(Context ctx) {
        String id = ctx.pathParam("id");
        TaskRecord r = dashboard.history().get(id).orElse(null);
        if (r == null) {
            // Not in the history (its worker sends no events, or it was trimmed): what the result backend has.
            var doc = dashboard.app().backend().get(id).orElse(null);
            if (doc == null) {
                error(ctx, 404, "no task " + id + " in the history or the result backend");
                return;
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("id", id);
            out.put("name", doc.extra().get("name"));
            out.put("state", doc.status());
            out.put("source", "result backend");
            out.put("result", doc.status().equals("SUCCESS") ? io.celeriac.protocol.PythonRepr.value(doc.result())
                    : null);
            out.put("exception", doc.status().equals("FAILURE") ? io.celeriac.protocol.PythonRepr.value(doc.result())
                    : null);
            out.put("traceback", doc.traceback());
            out.put("finished", doc.dateDone() == null ? null : doc.dateDone().toEpochMilli() / 1000.0);
            out.put("parentId", doc.parentId());
            out.put("retries", 0);
            out.put("events", List.of());
            out.put("children", List.of());
            out.put("retriedFrom", List.of());
            send(ctx, out);
            return;
        }
        Map<String, Object> out = new LinkedHashMap<>(Json.fields(r));
        out.put("children", dashboard.history().children(id).stream().map(TaskRoutes::summary).toList());
        List<Map<String, Object>> retriedFrom = new ArrayList<>();
        dashboard.history().scan(x -> {
            if (id.equals(x.retriedAs())) {
                retriedFrom.add(summary(x));
            }
        });
        out.put("retriedFrom", retriedFrom);
        send(ctx, out);
    }

    private static int intParam(Context ctx, String name, int fallback) {
        String v = ctx.queryParam(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number");
        }
    }
}
