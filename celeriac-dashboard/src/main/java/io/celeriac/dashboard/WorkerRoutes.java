package io.celeriac.dashboard;

import io.javalin.config.RoutesConfig;

import java.util.List;
import java.util.Map;

import static io.celeriac.dashboard.Json.body;
import static io.celeriac.dashboard.Json.send;
import static io.celeriac.dashboard.Json.str;

/** The JSON API of the Workers page: the worker list, pool resize, shutdown and task rate limits. */
final class WorkerRoutes {
    private final Dashboard dashboard;

    WorkerRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/workers", ctx -> send(ctx, dashboard.workers()));
        routes.post("/api/workers/{host}/pool", ctx -> {
            Map<String, Object> b = body(ctx);
            dashboard.resizePool(ctx.pathParam("host"), ((Number) b.getOrDefault("delta", 0)).intValue());
            send(ctx, Map.of("ok", true));
        });
        routes.post("/api/workers/{host}/shutdown", ctx -> {
            body(ctx);
            dashboard.shutdownWorker(ctx.pathParam("host"));
            send(ctx, Map.of("ok", true));
        });
        routes.post("/api/rate-limit", ctx -> {
            Map<String, Object> b = body(ctx);
            String worker = str(b.get("worker"));
            String task = str(b.get("task"));
            if (task == null || task.isBlank()) {
                // A request error, not a server one: mapped to 400 with this message.
                throw new IllegalArgumentException("task is required");
            }
            dashboard.rateLimit(task, str(b.get("rate")),
                    worker == null ? List.of() : List.of(worker));
            send(ctx, Map.of("ok", true));
        });
    }
}
