package io.celeriac.dashboard;

import io.celeriac.dashboard.Security.Principal;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static io.celeriac.dashboard.Json.send;

/**
 * Logging in and out: the login page and form, which open a {@link Sessions session} (and refuse an address after
 * too many failed logins), logout, and {@code /api/me} (who is logged in, with the session's CSRF token).
 */
final class LoginRoutes {
    private static final Logger log = LoggerFactory.getLogger(LoginRoutes.class);
    private static final int MAX_FAILED_LOGINS = 10;
    private static final long LOGIN_WINDOW_MS = 5 * 60_000L;

    /** Failed logins from one address within a window; past the limit, logins from it are refused for a while. */
    private record FailedLogins(long windowStart, int count) {
    }

    private final Dashboard dashboard;
    private final Users users;
    private final Sessions sessions;
    private final LiveStream stream;
    private final Map<String, FailedLogins> failedLogins = new ConcurrentHashMap<>();

    LoginRoutes(Dashboard dashboard, Users users, Sessions sessions, LiveStream stream) {
        this.dashboard = dashboard;
        this.users = users;
        this.sessions = sessions;
        this.stream = stream;
    }

    void addTo(RoutesConfig routes) {
        routes.get("/login", this::loginPage);
        routes.post("/login", this::login);
        routes.post("/logout", this::logout);
        routes.get("/api/me", ctx -> {
            Principal p = Security.principal(ctx);
            send(ctx, Map.of("user", p.user(), "role", p.role().name(),
                    "csrf", p.session() == null ? "" : p.session().csrf(), "notices", dashboard.notices()));
        });
    }

    /** Forgets failed logins whose window has passed; called every 15 s. */
    void forgetOldFailures(long nowMillis) {
        failedLogins.values().removeIf(f -> f.windowStart + LOGIN_WINDOW_MS < nowMillis);
    }

    private void loginPage(Context ctx) {
        String next = safeNext(ctx.queryParam("next"));
        String failed = ctx.queryParam("failed") != null ? "<p class=\"error\">Wrong user name or password.</p>" : "";
        ctx.html(Html.fill(Html.resource("login.html"), Map.of("next", Html.escape(next), "failed", failed)));
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
        String sid = sessions.open(user, role);
        ctx.header("Set-Cookie", Sessions.COOKIE + "=" + sid + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
                + (secure(ctx) ? "; Secure" : ""));
        ctx.redirect(next);
    }

    private void logout(Context ctx) {
        String sid = ctx.cookie(Sessions.COOKIE);
        if (sid != null) {
            sessions.end(sid);
            stream.endSession(sid);
        }
        ctx.header("Set-Cookie", Sessions.COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        ctx.redirect("/login");
    }

    /** HTTPS to the dashboard, directly or through a proxy that says so. */
    private static boolean secure(Context ctx) {
        return "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(ctx.header("X-Forwarded-Proto"));
    }

    /**
     * Only local paths, so the login form cannot bounce a user to another site. Browsers drop tabs and newlines
     * from URLs and read a backslash as a slash, so {@code /<TAB>/evil} and {@code /\\evil} would become
     * {@code //evil}: any control character, space or backslash is refused, and what is left must parse as a path
     * with no scheme and no host.
     */
    static String safeNext(@Nullable String next) {
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
}
