package io.celeriac.dashboard;

import io.celeriac.broker.DeadLetter;
import io.javalin.config.RoutesConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.celeriac.dashboard.Json.body;
import static io.celeriac.dashboard.Json.found;
import static io.celeriac.dashboard.Json.send;

/**
 * The JSON API under {@code /api/dead-letters} (the lower half of the Failed page): the broker's dead letters, and
 * requeue or discard, one or all.
 */
final class DeadLetterRoutes {
    private final Dashboard dashboard;

    DeadLetterRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/dead-letters", ctx -> send(ctx, deadLetters()));
        routes.post("/api/dead-letters/requeue-all", ctx -> {
            body(ctx);
            send(ctx, Map.of("requeued", dashboard.requeueAllDeadLetters()));
        });
        routes.post("/api/dead-letters/{id}/requeue", ctx -> {
            body(ctx);
            found(ctx, dashboard.requeueDeadLetter(ctx.pathParam("id")));
        });
        routes.post("/api/dead-letters/{id}/discard", ctx -> {
            body(ctx);
            found(ctx, dashboard.discardDeadLetter(ctx.pathParam("id")));
        });
    }

    private List<Map<String, Object>> deadLetters() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (DeadLetter d : dashboard.deadLetters(1000)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", d.id());
            m.put("queue", d.queue());
            m.put("reason", d.reason());
            m.put("time", d.time() == null ? null : d.time().toString());
            m.put("payload", d.raw());
            try {
                var msg = dashboard.app().codec().decode(d.message());
                m.put("task", msg.task());
                m.put("taskId", msg.id());
            } catch (RuntimeException e) {
                m.put("task", null);
                m.put("taskId", null);
            }
            out.add(m);
        }
        return out;
    }
}
