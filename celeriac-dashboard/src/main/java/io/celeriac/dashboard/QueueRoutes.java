package io.celeriac.dashboard;

import io.javalin.config.RoutesConfig;

import java.util.Map;

import static io.celeriac.dashboard.Json.body;
import static io.celeriac.dashboard.Json.send;

/** The JSON API of the Queues page: the queues with their lengths and consumers, and purge. */
final class QueueRoutes {
    private final Dashboard dashboard;

    QueueRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/queues", ctx -> send(ctx, Map.of("queues", dashboard.queues(),
                "deadLetters", dashboard.deadLetterCount())));
        routes.post("/api/queues/{name}/purge", ctx -> {
            body(ctx);
            send(ctx, Map.of("purged", dashboard.purge(ctx.pathParam("name"))));
        });
    }
}
