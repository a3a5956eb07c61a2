package io.celeriac.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.beat.Schedules;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.broker.DeadLetter;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import io.javalin.http.sse.SseClient;
import io.javalin.http.staticfiles.Location;
import io.javalin.security.BasicAuthCredentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dashboard's HTTP side: pages (a server-rendered shell that {@code app.js} fills from the JSON API), the API,
 * the live stream (server-sent events) and {@code /metrics}.
 *
 * <p>Security: every request but the login page and static files needs a user, by session cookie (the login form)
 * or HTTP basic auth (API clients, Prometheus). Changes need the admin role, a JSON body and, for cookie sessions,
 * the session's CSRF token in {@code X-CSRF-Token}; a cross-site form can send neither. Pages put task-supplied
 * text into the DOM only as text, and the Content-Security-Policy allows no inline script at all.
 */
final class DashboardServer {
    private static final Logger log = LoggerFactory.getLogger(DashboardServer.class);
    static final String SESSION_COOKIE = "celeriac_session";
    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    private static final List<String> PAGES = List.of("tasks", "workers", "queues", "charts", "schedules", "failed");

    private final Dashboard dashboard;
    private final Users users;
    private final ObjectMapper json = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final Map<String, FailedLogins> failedLogins = new ConcurrentHashMap<>();
    private static final int MAX_FAILED_LOGINS = 10;
    private static final long LOGIN_WINDOW_MS = 5 * 60_000L;

    /** Failed logins from one address within a window; past the limit, logins from it are refused for a while. */
    private record FailedLogins(long windowStart, int count) {
    }
    /** Open live streams, with the session each belongs to (null for basic auth). */
    private final Map<SseClient, String> clients = new ConcurrentHashMap<>();
    private final String shell;
    private Javalin javalin;

    /** A logged-in browser. */
    record Session(String user, Role role, String csrf, long expiresAtMillis) {
    }

    /** Who made a request and how. */
    record Principal(String user, Role role, Session session) {
    }

    DashboardServer(Dashboard dashboard, Users users) {
        this.dashboard = dashboard;
        this.users = users;
        this.shell = resource("shell.html");
    }

    void start(String host, int port) {
        javalin = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.staticFiles.add(s -> {
                s.hostedPath = "/static";
                s.directory = "/io/celeriac/dashboard/static";
                s.location = Location.CLASSPATH;
            });
            config.routes.before(this::authenticate);
            config.routes.get("/", ctx -> ctx.redirect("/tasks"));
            config.routes.get("/login", this::loginPage);
            config.routes.post("/login", this::login);
            config.routes.post("/logout", this::logout);
            config.routes.get("/healthz", ctx -> ctx.result("ok"));
            for (String page : PAGES) {
                config.routes.get("/" + page, ctx -> page(ctx, page, ""));
            }
            config.routes.get("/tasks/{id}", ctx -> page(ctx, "task", ctx.pathParam("id")));
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(dashboard.scrapeMetrics()));

            config.routes.get("/api/me", ctx -> {
                Principal p = principal(ctx);
                send(ctx, Map.of("user", p.user(), "role", p.role().name(),
                        "csrf", p.session() == null ? "" : p.session().csrf(), "notices", dashboard.notices()));
            });
            config.routes.get("/api/tasks", this::tasks);
            config.routes.get("/api/tasks/{id}", this::task);
            config.routes.get("/api/tasks/{id}/workflow", this::workflow);
            config.routes.get("/api/workers", ctx -> send(ctx, dashboard.workers()));
            config.routes.get("/api/queues", ctx -> send(ctx, Map.of("queues", dashboard.queues(),
                    "deadLetters", dashboard.deadLetterCount())));
            config.routes.get("/api/charts", ctx -> send(ctx, dashboard.charts(ctx.queryParam("task"))));
            config.routes.get("/api/schedules", this::schedules);
            config.routes.get("/api/dead-letters", ctx -> send(ctx, deadLetters()));
            config.routes.sse("/api/stream", this::stream);

            config.routes.post("/api/tasks/retry-all", ctx -> {
                Map<String, Object> b = body(ctx);
                TaskQuery q = new TaskQuery(Set.of("FAILURE"), str(b.get("name")), str(b.get("search")), null, 0, 1);
                send(ctx, Map.of("retried", dashboard.retryAll(q)));
            });
            config.routes.post("/api/tasks/discard-failed", ctx -> {
                Map<String, Object> b = body(ctx);
                TaskQuery q = new TaskQuery(Set.of("FAILURE"), str(b.get("name")), str(b.get("search")), null, 0, 1);
                send(ctx, Map.of("discarded", dashboard.discardFailed(q)));
            });
            config.routes.post("/api/tasks/{id}/discard", ctx -> {
                body(ctx);
                found(ctx, dashboard.history().remove(List.of(ctx.pathParam("id"))) == 1);
            });
            config.routes.post("/api/tasks/{id}/retry", ctx -> {
                body(ctx);
                send(ctx, Map.of("id", dashboard.retry(ctx.pathParam("id"))));
            });
            config.routes.post("/api/tasks/{id}/revoke", ctx -> {
                Map<String, Object> b = body(ctx);
                dashboard.revoke(ctx.pathParam("id"), Boolean.TRUE.equals(b.get("terminate")));
                send(ctx, Map.of("ok", true));
            });
            config.routes.post("/api/workers/{host}/pool", ctx -> {
                Map<String, Object> b = body(ctx);
                dashboard.resizePool(ctx.pathParam("host"), ((Number) b.getOrDefault("delta", 0)).intValue());
                send(ctx, Map.of("ok", true));
            });
            config.routes.post("/api/workers/{host}/shutdown", ctx -> {
                body(ctx);
                dashboard.shutdownWorker(ctx.pathParam("host"));
                send(ctx, Map.of("ok", true));
            });
            config.routes.post("/api/rate-limit", ctx -> {
                Map<String, Object> b = body(ctx);
                String worker = str(b.get("worker"));
                dashboard.rateLimit(str(b.get("task")), str(b.get("rate")),
                        worker == null ? List.of() : List.of(worker));
                send(ctx, Map.of("ok", true));
            });
            config.routes.post("/api/queues/{name}/purge", ctx -> {
                body(ctx);
                send(ctx, Map.of("purged", dashboard.purge(ctx.pathParam("name"))));
            });
            config.routes.post("/api/dead-letters/requeue-all", ctx -> {
                body(ctx);
                send(ctx, Map.of("requeued", dashboard.requeueAllDeadLetters()));
            });
            config.routes.post("/api/dead-letters/{id}/requeue", ctx -> {
                body(ctx);
                found(ctx, dashboard.requeueDeadLetter(ctx.pathParam("id")));
            });
            config.routes.post("/api/dead-letters/{id}/discard", ctx -> {
                body(ctx);
                found(ctx, dashboard.discardDeadLetter(ctx.pathParam("id")));
            });
            config.routes.post("/api/schedules", this::saveSchedule);
            config.routes.post("/api/schedules/{name}/enabled", ctx -> {
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
            config.routes.post("/api/schedules/{name}/run", ctx -> {
                body(ctx);
                send(ctx, Map.of("id", dashboard.runScheduleNow(ctx.pathParam("name"))));
            });
            config.routes.post("/api/schedules/{name}/delete", ctx -> {
                body(ctx);
                found(ctx, dashboard.requireSchedules().remove(ctx.pathParam("name")));
            });

            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
            config.routes.exception(IllegalStateException.class, (e, ctx) -> error(ctx, 409, e.getMessage()));
            config.routes.exception(ClassCastException.class, (e, ctx) -> error(ctx, 400, "wrong type in request"));
            // Redis down or restarting: the page stays up and says so; the call works again once Redis answers.
            config.routes.exception(BrokerUnavailableException.class, (e, ctx) -> error(ctx, 503, e.getMessage()));
            config.routes.exception(io.lettuce.core.RedisException.class, (e, ctx) -> error(ctx, 503,
                    "Redis did not answer (" + ReconnectBackoff.reason(e) + "); try again in a moment"));
            config.routes.exception(HistoryStoreUnavailableException.class, (e, ctx) -> error(ctx, 503,
                    e.getMessage()));
            // A broker without what the call needs (remote control, say): not a failure of the dashboard, and no
            // use repeating; the message names what is missing.
            config.routes.exception(UnsupportedOperationException.class, (e, ctx) -> error(ctx, 501,
                    e.getMessage()));
        });
        javalin.start(host, port);
    }

    int port() {
        return javalin.port();
    }

    void stop() {
        clients.keySet().forEach(SseClient::close);
        javalin.stop();
    }

    // ------------------------------------------------------------------ security

    private void authenticate(Context ctx) {
        ctx.header("Content-Security-Policy", CSP);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Referrer-Policy", "same-origin");
        String path = ctx.path();
        if ((path.equals("/login") || path.equals("/logout")) && !ctx.method().name().equals("GET")) {
            // Login CSRF: a foreign page must not log a browser in (or out) with credentials of its choosing.
            String origin = ctx.header("Origin");
            if (origin != null && !origin.equals("null") && !sameOrigin(origin, ctx)) {
                error(ctx, 403, "cross-origin request from " + origin);
                ctx.skipRemainingHandlers();
                return;
            }
        }
        if (path.equals("/login") || path.equals("/healthz") || path.startsWith("/static/")) {
            return;
        }
        Principal p = resolve(ctx);
        if (p == null) {
            if (path.startsWith("/api/") || path.equals("/metrics") || ctx.basicAuthCredentials() != null
                    || !ctx.method().name().equals("GET")) {
                ctx.header("WWW-Authenticate", "Basic realm=\"celeriac\", charset=\"UTF-8\"");
                error(ctx, 401, "authentication required");
            } else {
                ctx.redirect("/login?next=" + java.net.URLEncoder.encode(path, StandardCharsets.UTF_8));
            }
            ctx.skipRemainingHandlers();
            return;
        }
        ctx.attribute("principal", p);
        ctx.header("Cache-Control", "no-store");
        if (ctx.method().name().equals("GET") || path.equals("/logout")) {
            return;
        }
        if (p.role() != Role.ADMIN) {
            error(ctx, 403, "read-only user " + p.user() + " cannot change anything");
            ctx.skipRemainingHandlers();
            return;
        }
        String problem = csrfProblem(ctx, p);
        if (problem != null) {
            log.warn("dashboard: refused {} {} from {}: {}", ctx.method(), path, p.user(), problem);
            error(ctx, 403, problem);
            ctx.skipRemainingHandlers();
        }
    }

    /**
     * Why a state-changing request may be forged, or null. A cross-site page can make a browser send cookies (and
     * cached basic-auth credentials), but not a custom header or a JSON content type without a CORS preflight,
     * which this server never grants.
     */
    private String csrfProblem(Context ctx, Principal p) {
        String origin = ctx.header("Origin");
        if (origin != null && !origin.equals("null") && !sameOrigin(origin, ctx)) {
            return "cross-origin request from " + origin;
        }
        String type = ctx.contentType();
        if (type == null || !type.toLowerCase().startsWith("application/json")) {
            return "changes need a JSON body (Content-Type: application/json)";
        }
        String token = ctx.header("X-CSRF-Token");
        if (p.session() != null && (token == null || !java.security.MessageDigest.isEqual(
                p.session().csrf().getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8)))) {
            return "missing or wrong CSRF token";
        }
        return null;
    }

    /** HTTPS to the dashboard, directly or through a proxy that says so. */
    private static boolean secure(Context ctx) {
        return "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(ctx.header("X-Forwarded-Proto"));
    }

    private static boolean sameOrigin(String origin, Context ctx) {
        try {
            URI o = URI.create(origin);
            String host = ctx.header("Host");
            return host != null && host.equalsIgnoreCase(o.getAuthority());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private Principal resolve(Context ctx) {
        String sid = ctx.cookie(SESSION_COOKIE);
        if (sid != null) {
            Session s = sessions.get(sid);
            if (s != null && s.expiresAtMillis() > System.currentTimeMillis()) {
                return new Principal(s.user(), s.role(), s);
            }
            sessions.remove(sid);
        }
        BasicAuthCredentials c = basic(ctx);
        if (c != null) {
            return users.check(c.getUsername(), c.getPassword()).map(r -> new Principal(c.getUsername(), r, null))
                    .orElse(null);
        }
        return null;
    }

    private static BasicAuthCredentials basic(Context ctx) {
        try {
            return ctx.basicAuthCredentials();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static Principal principal(Context ctx) {
        return ctx.attribute("principal");
    }

    private void loginPage(Context ctx) {
        String next = safeNext(ctx.queryParam("next"));
        String failed = ctx.queryParam("failed") != null ? "<p class=\"error\">Wrong user name or password.</p>" : "";
        ctx.html(Html.fill(resource("login.html"), Map.of("next", Html.escape(next), "failed", failed)));
    }

    private void login(Context ctx) {
        String next = safeNext(ctx.formParam("next"));
        String user = ctx.formParam("username");
        FailedLogins f = failedLogins.get(ctx.ip());
        if (f != null && f.count >= MAX_FAILED_LOGINS && f.windowStart + LOGIN_WINDOW_MS > System.currentTimeMillis()) {
            ctx.status(HttpStatus.TOO_MANY_REQUESTS).result("Too many failed logins from this address; wait a few "
                    + "minutes.");
            return;
        }
        Role role = users.check(user, ctx.formParam("password")).orElse(null);
        if (role == null) {
            failedLogins.compute(ctx.ip(), (ip, old) -> old == null
                    || old.windowStart + LOGIN_WINDOW_MS < System.currentTimeMillis()
                    ? new FailedLogins(System.currentTimeMillis(), 1) : new FailedLogins(old.windowStart, old.count + 1));
            log.warn("dashboard: failed login for '{}' from {}", user, ctx.ip());
            ctx.redirect("/login?failed=1&next=" + java.net.URLEncoder.encode(next, StandardCharsets.UTF_8));
            return;
        }
        failedLogins.remove(ctx.ip());
        String sid = Users.randomToken(32);
        sessions.put(sid, new Session(user, role, Users.randomToken(24), System.currentTimeMillis() + 12 * 3600_000L));
        ctx.header("Set-Cookie", SESSION_COOKIE + "=" + sid + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
                + (secure(ctx) ? "; Secure" : ""));
        ctx.redirect(next);
    }

    private void logout(Context ctx) {
        String sid = ctx.cookie(SESSION_COOKIE);
        if (sid != null) {
            sessions.remove(sid);
            clients.forEach((c, s) -> {
                if (s.equals(sid)) {
                    clients.remove(c);
                    c.close();
                }
            });
        }
        ctx.header("Set-Cookie", SESSION_COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        ctx.redirect("/login");
    }

    /**
     * Only local paths, so the login form cannot bounce a user to another site. Browsers drop tabs and newlines
     * from URLs and read a backslash as a slash, so {@code /<TAB>/evil} and {@code /\\evil} would become
     * {@code //evil}: any control character, space or backslash is refused, and what is left must parse as a path
     * with no scheme and no host.
     */
    static String safeNext(String next) {
        if (next == null || !next.startsWith("/") || next.startsWith("//")) {
            return "/tasks";
        }
        for (int i = 0; i < next.length(); i++) {
            char c = next.charAt(i);
            if (c <= ' ' || c == '\\' || c == 0x7f) {
                return "/tasks";
            }
        }
        try {
            URI u = new URI(next);
            return u.getScheme() == null && u.getRawAuthority() == null ? next : "/tasks";
        } catch (java.net.URISyntaxException e) {
            return "/tasks";
        }
    }

    // ------------------------------------------------------------------ pages

    private void page(Context ctx, String page, String id) {
        Principal p = principal(ctx);
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

    // ------------------------------------------------------------------ API

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
        out.put("items", page.items().stream().map(DashboardServer::summary).toList());
        send(ctx, out);
    }

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
        Map<String, Object> out = new LinkedHashMap<>(json.convertValue(r, Map.class));
        out.put("children", dashboard.history().children(id).stream().map(DashboardServer::summary).toList());
        List<Map<String, Object>> retriedFrom = new ArrayList<>();
        dashboard.history().scan(x -> {
            if (id.equals(x.retriedAs())) {
                retriedFrom.add(summary(x));
            }
        });
        out.put("retriedFrom", retriedFrom);
        send(ctx, out);
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

    // ------------------------------------------------------------------ live stream

    private void stream(SseClient client) {
        Principal p = principal(client.ctx());
        String sid = p != null && p.session() != null ? client.ctx().cookie(SESSION_COOKIE) : null;
        client.keepAlive();
        client.onClose(() -> clients.remove(client));
        clients.put(client, sid == null ? "" : sid);
        client.sendEvent("hello", "{}");
    }

    /** Sends changed tasks and a workers nudge to every open page; pages re-query what they show. */
    void push(List<TaskRecord> changed, boolean workersChanged) {
        if (clients.isEmpty()) {
            return;
        }
        String tasks = changed.isEmpty() ? null : write(changed.stream().limit(200).map(DashboardServer::summary)
                .toList());
        for (SseClient c : clients.keySet()) {
            try {
                if (tasks != null) {
                    c.sendEvent("tasks", tasks);
                }
                if (workersChanged) {
                    c.sendEvent("workers", "{}");
                }
            } catch (RuntimeException e) {
                clients.remove(c);
            }
        }
    }

    /**
     * Keeps idle streams from being cut by proxies and timeouts, drops dead ones, and forgets expired sessions;
     * called every 15 s.
     */
    void housekeeping() {
        long now = System.currentTimeMillis();
        sessions.values().removeIf(s -> s.expiresAtMillis() <= now);
        clients.forEach((c, sid) -> {
            if (!sid.isEmpty() && !sessions.containsKey(sid)) {
                clients.remove(c);
                c.close(); // logged out or expired: the stream ends with the session
                return;
            }
            try {
                c.sendComment("ping");
            } catch (RuntimeException e) {
                clients.remove(c);
            }
        });
        failedLogins.values().removeIf(f -> f.windowStart + LOGIN_WINDOW_MS < now);
    }

    // ------------------------------------------------------------------ helpers

    private Map<String, Object> body(Context ctx) {
        String b = ctx.body();
        if (b == null || b.isBlank()) {
            return Map.of();
        }
        try {
            Object v = json.readValue(b, Object.class);
            if (v instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> mm = (Map<String, Object>) m;
                return mm;
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("body is not JSON: " + e.getOriginalMessage());
        }
        throw new IllegalArgumentException("body must be a JSON object");
    }

    private void send(Context ctx, Object value) {
        ctx.contentType("application/json").result(write(value));
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void error(Context ctx, int status, String message) {
        ctx.status(HttpStatus.forStatus(status));
        send(ctx, Map.of("error", message == null ? "error" : message));
    }

    private void found(Context ctx, boolean found) {
        if (found) {
            send(ctx, Map.of("ok", true));
        } else {
            error(ctx, 404, "not found");
        }
    }

    private static String str(Object v) {
        return v == null || String.valueOf(v).isBlank() ? null : String.valueOf(v).trim();
    }

    private static int intParam(Context ctx, String name, int fallback) {
        String v = ctx.queryParam(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number");
        }
    }

    private static String resource(String name) {
        try (InputStream in = DashboardServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
