package io.celeriac.dashboard;

import io.celeriac.dashboard.Security.Principal;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

import java.util.List;
import java.util.Map;

/**
 * What a browser or a scraper fetches outside the JSON API: the HTML pages (one server-rendered shell that
 * {@code app.js} fills from the API), {@code /favicon.ico}, {@code /healthz} and the Prometheus {@code /metrics}.
 */
final class PageRoutes {
    private static final List<String> PAGES = List.of("tasks", "workers", "queues", "charts", "schedules", "failed");

    private final Dashboard dashboard;
    private final String shell = Html.resource("shell.html");

    PageRoutes(Dashboard dashboard) {
        this.dashboard = dashboard;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/", ctx -> ctx.redirect("/tasks"));
        routes.get("/healthz", ctx -> ctx.result("ok"));
        // The pages link /static/favicon.svg; this is for what asks the old place (bookmarks, feed readers).
        routes.get("/favicon.ico", ctx -> ctx.redirect("/static/favicon.svg"));
        for (String page : PAGES) {
            routes.get("/" + page, ctx -> page(ctx, page, ""));
        }
        routes.get("/tasks/{id}", ctx -> page(ctx, "task", ctx.pathParam("id")));
        routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                .result(dashboard.scrapeMetrics()));
    }

    private void page(Context ctx, String page, String id) {
        Principal p = Security.principal(ctx);
        String csrf = p.session() == null ? "" : p.session().csrf();
        StringBuilder nav = new StringBuilder();
        for (String name : PAGES) {
            String current = name.equals(page) || page.equals("task") && name.equals("tasks") ? " class=\"current\"" : "";
            nav.append("<a href=\"/").append(name).append('"').append(current).append('>')
                    .append(Character.toUpperCase(name.charAt(0))).append(name.substring(1)).append("</a>");
        }
        ctx.html(Html.fill(shell, Map.of(
                "title", Html.escape(page.equals("task") ? "Task " + id : capital(page)),
                "nav", nav.toString(),
                "page", Html.escape(page),
                "id", Html.escape(id),
                "user", Html.escape(p.user()),
                "role", Html.escape(p.role() == Role.ADMIN ? "admin" : "read-only"),
                "csrf", Html.escape(csrf),
                "notices", notices())));
    }

    /** The dashboard's notices as escaped paragraphs, above every page. */
    private String notices() {
        StringBuilder out = new StringBuilder();
        for (String n : dashboard.notices()) {
            out.append("<p class=\"notice\">").append(Html.escape(n)).append("</p>");
        }
        return out.toString();
    }

    private static String capital(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
