package io.celeriac.worker;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Revoked task ids this worker knows, bounded like Celery's ({@code REVOKES_MAX} 50,000, oldest dropped first, and
 * forgotten after {@code REVOKE_EXPIRES} 3 hours).
 */
final class RevokedIds {
    private static final int MAX = 50_000;
    private static final long EXPIRES_NANOS = 3L * 3600 * 1_000_000_000L;

    private final LinkedHashMap<String, Long> ids = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX;
        }
    };
    /** Lets {@link #contains} skip the lock while nothing is revoked: every task start asks. */
    private volatile int size;

    synchronized void add(String id) {
        ids.put(id, System.nanoTime());
        size = ids.size();
    }

    boolean contains(String id) {
        if (size == 0) {
            return false;
        }
        synchronized (this) {
            Long at = ids.get(id);
            if (at == null) {
                return false;
            }
            if (System.nanoTime() - at > EXPIRES_NANOS) {
                ids.remove(id);
                size = ids.size();
                return false;
            }
            return true;
        }
    }

    synchronized List<String> list() {
        return new ArrayList<>(ids.keySet());
    }
}
