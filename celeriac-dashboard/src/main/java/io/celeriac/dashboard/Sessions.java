package io.celeriac.dashboard;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The logged-in browsers: a session per login, named by a random id in the {@link #COOKIE} cookie, with its own CSRF
 * token, for 12 hours or until logout. In memory only: a restart logs everyone out.
 */
final class Sessions {
    static final String COOKIE = "celeriac_session";

    /** A logged-in browser. */
    record Session(String user, Role role, String csrf, long expiresAtMillis) {
    }

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();

    /** Starts a session; returns its id, for the cookie. */
    String open(String user, Role role) {
        String sid = Users.randomToken(32);
        sessions.put(sid, new Session(user, role, Users.randomToken(24), System.currentTimeMillis() + 12 * 3600_000L));
        return sid;
    }

    /** The session {@code sid} names, or null when there is none or it expired (then it is forgotten). */
    @Nullable Session find(String sid) {
        Session s = sessions.get(sid);
        if (s != null && s.expiresAtMillis() > System.currentTimeMillis()) {
            return s;
        }
        sessions.remove(sid);
        return null;
    }

    /** True while session {@code sid} has not ended or been forgotten as expired. */
    boolean isOpen(String sid) {
        return sessions.containsKey(sid);
    }

    void end(String sid) {
        sessions.remove(sid);
    }

    /** Forgets the sessions expired by {@code nowMillis}. */
    void expire(long nowMillis) {
        sessions.values().removeIf(s -> s.expiresAtMillis() <= nowMillis);
    }
}
