package io.celeriac.dashboard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Workers by hostname, from worker events and the answers to {@code stats} and {@code active_queues}. */
final class WorkerRegistry {
    private final Map<String, State> workers = new TreeMap<>();

    private static final class State {
        String software = "";
        double last;
        double freq = 2.0;
        boolean offline;
        int active;
        long processed;
        List<Double> loadavg = List.of();
        int poolSize;
        List<String> queues = List.of();
        long pid;
        boolean heartbeats;
    }

    /** Applies a worker-* event; returns true if it was one. */
    synchronized boolean apply(Map<String, Object> e, double now) {
        String type = String.valueOf(e.get("type"));
        if (!type.startsWith("worker-") || e.get("hostname") == null) {
            return false;
        }
        State s = workers.computeIfAbsent(String.valueOf(e.get("hostname")), h -> new State());
        // Stamp with our clock, not the worker's: a skewed worker clock must not make it look dead.
        s.last = now;
        s.heartbeats = true;
        s.offline = type.equals("worker-offline");
        if (e.get("freq") instanceof Number n) {
            s.freq = n.doubleValue();
        }
        if (e.get("active") instanceof Number n) {
            s.active = n.intValue();
        }
        if (e.get("processed") instanceof Number n) {
            s.processed = n.longValue();
        }
        if (e.get("pid") instanceof Number n) {
            s.pid = n.longValue();
        }
        if (e.get("loadavg") instanceof List<?> l) {
            List<Double> la = new ArrayList<>();
            l.forEach(x -> la.add(x instanceof Number n ? n.doubleValue() : 0.0));
            s.loadavg = la;
        }
        if (e.get("sw_ident") != null) {
            s.software = e.get("sw_ident") + " " + e.getOrDefault("sw_ver", "");
        }
        return true;
    }

    /**
     * Folds in a {@code stats} reply ({@code {hostname: stats}}). A worker that sends no events (started without
     * {@code -E}) is known from these replies alone, and counts as alive while it answers the poll.
     */
    synchronized void applyStats(String hostname, Map<?, ?> stats, double now, double pollSeconds) {
        State s = workers.computeIfAbsent(hostname, h -> new State());
        if (!s.heartbeats) {
            s.last = now;
            s.offline = false;
            s.freq = pollSeconds;
            if (stats.get("sw_ident") != null) {
                s.software = String.valueOf(stats.get("sw_ident"));
            }
            if (stats.get("pid") instanceof Number n) {
                s.pid = n.longValue();
            }
            if (stats.get("total") instanceof Map<?, ?> total) {
                s.processed = total.values().stream().mapToLong(v -> v instanceof Number n ? n.longValue() : 0).sum();
            }
        }
        if (stats.get("pool") instanceof Map<?, ?> pool && pool.get("max-concurrency") instanceof Number n) {
            s.poolSize = n.intValue();
        }
    }

    /** Folds in an {@code active_queues} reply. */
    synchronized void applyQueues(String hostname, List<?> queues) {
        State s = workers.get(hostname);
        if (s == null) {
            return;
        }
        List<String> names = new ArrayList<>();
        for (Object q : queues) {
            if (q instanceof Map<?, ?> m && m.get("name") != null) {
                names.add(String.valueOf(m.get("name")));
            }
        }
        s.queues = names;
    }

    synchronized List<WorkerInfo> list(double now) {
        List<WorkerInfo> out = new ArrayList<>();
        workers.forEach((h, s) -> out.add(new WorkerInfo(h, s.software, online(s, now), s.last, s.freq,
                online(s, now) ? s.active : 0, s.processed, s.loadavg, s.poolSize, s.queues, s.pid)));
        return out;
    }

    /** Celery's rule: alive while the last heartbeat is younger than twice its interval (plus slack). */
    private static boolean online(State s, double now) {
        return !s.offline && now - s.last <= Math.max(2.5 * s.freq, 5.0);
    }

    synchronized long onlineCount(double now) {
        return workers.values().stream().filter(s -> online(s, now)).count();
    }
}
