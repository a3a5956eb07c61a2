package io.celeriac.dashboard;

import io.celeriac.dashboard.Security.Principal;
import io.javalin.config.RoutesConfig;
import io.javalin.http.sse.SseClient;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The live stream, {@code /api/stream}: server-sent events that tell every open page which tasks changed and when
 * the workers did, so pages re-query what they show. A stream ends with the session it was opened in.
 */
final class LiveStream {
    /** Open live streams, with the session each belongs to ("" for basic auth). */
    private final Map<SseClient, String> clients = new ConcurrentHashMap<>();

    void addTo(RoutesConfig routes) {
        routes.sse("/api/stream", this::open);
    }

    private void open(SseClient client) {
        Principal p = Security.principal(client.ctx());
        String sid = p != null && p.session() != null ? client.ctx().cookie(Sessions.COOKIE) : null;
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
        String tasks = changed.isEmpty() ? null : Json.write(changed.stream().limit(200).map(TaskRoutes::summary)
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

    /** Ends the streams opened in session {@code sid} (on logout). */
    void endSession(String sid) {
        clients.forEach((c, s) -> {
            if (s.equals(sid)) {
                clients.remove(c);
                c.close();
            }
        });
    }

    /**
     * Keeps idle streams from being cut by proxies and timeouts, drops dead ones, and ends those whose session
     * ended; called every 15 s.
     */
    void housekeeping(Predicate<String> sessionOpen) {
        clients.forEach((c, sid) -> {
            if (!sid.isEmpty() && !sessionOpen.test(sid)) {
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
    }

    /** Ends every stream, when the server stops. */
    void closeAll() {
        clients.keySet().forEach(SseClient::close);
        // Forgotten too: the dashboard's last drain of events, after the server stopped, pushes to no one.
        clients.clear();
    }
}
