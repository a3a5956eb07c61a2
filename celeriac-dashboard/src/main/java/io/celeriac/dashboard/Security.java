package io.celeriac.dashboard;

import io.javalin.http.Context;
import io.javalin.security.BasicAuthCredentials;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;

import static io.celeriac.dashboard.Json.error;

/**
 * Decides, before any route runs, whether a request may go on: security headers on every answer, the user behind the
 * request, and for changes the admin role and proof that the request is not forged cross-site.
 *
 * <p>Every request but the login page, the icon and static files needs a user, by session cookie (the login form)
 * or HTTP basic auth (API clients, Prometheus). Changes need the admin role, a JSON body and, for cookie sessions,
 * the session's CSRF token in {@code X-CSRF-Token}; a cross-site form can send neither. Pages put task-supplied
 * text into the DOM only as text, and the Content-Security-Policy allows no inline script at all.
 */
final class Security {
    private static final Logger log = LoggerFactory.getLogger(Security.class);
    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private final Users users;
    private final Sessions sessions;

    /** Who made a request and how (the session is null for basic auth). */
    record Principal(String user, Role role, Sessions.@Nullable Session session) {
    }

    Security(Users users, Sessions sessions) {
        this.users = users;
        this.sessions = sessions;
    }

    /** The user {@link #authenticate} found for this request. */
    static @Nullable Principal principal(Context ctx) {
        return ctx.attribute("principal");
    }

    /** The before-handler of every request: answers and skips the route when the request may not go on. */
    void authenticate(Context ctx) {
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
        if (path.equals("/login") || path.equals("/healthz") || path.startsWith("/static/")
                || path.equals("/favicon.ico")) {
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
    private @Nullable String csrfProblem(Context ctx, Principal p) {
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

    private static boolean sameOrigin(String origin, Context ctx) {
        try {
            URI o = URI.create(origin);
            String host = ctx.header("Host");
            return host != null && host.equalsIgnoreCase(o.getAuthority());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private @Nullable Principal resolve(Context ctx) {
        String sid = ctx.cookie(Sessions.COOKIE);
        if (sid != null) {
            Sessions.Session s = sessions.find(sid);
            if (s != null) {
                return new Principal(s.user(), s.role(), s);
            }
        }
        BasicAuthCredentials c = basic(ctx);
        if (c != null) {
            return users.check(c.getUsername(), c.getPassword()).map(r -> new Principal(c.getUsername(), r, null))
                    .orElse(null);
        }
        return null;
    }

    private static @Nullable BasicAuthCredentials basic(Context ctx) {
        try {
            return ctx.basicAuthCredentials();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
