package io.celeriac.dashboard;

import io.javalin.config.RoutesConfig;

import static io.celeriac.dashboard.Json.send;

/** The JSON API of the Charts page: the per-minute series {@link Charts} computes, for all tasks or one. */
final class ChartRoutes {
    private final Dashboard dashboard;

    ChartRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/api/charts", ctx -> send(ctx, dashboard.charts(ctx.queryParam("task"))));
    }
}
