package io.celeriac.dashboard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What the dashboard knows about one task, assembled from its events. Values that came from the task (arguments,
 * result, traceback) are kept as the text the worker reported (Python reprs) and are only ever rendered escaped.
 *
 * @param id task id
 * @param name task name, or null until an event that carries it arrives
 * @param state Celery state: PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REJECTED
 * @param args positional arguments as reported ({@code (1, 'a')})
 * @param kwargs keyword arguments as reported ({@code {'k': 1}})
 * @param result the result's repr on success
 * @param exception the exception's repr on failure or retry; for a rejected task, why the worker rejected it
 * @param traceback the traceback on failure or retry
 * @param worker the hostname of the worker that reported it last
 * @param queue the queue it was received from, when the worker says
 * @param received epoch seconds of task-received
 * @param started epoch seconds of task-started
 * @param finished epoch seconds of the success, failure or revoke
 * @param runtime seconds the task ran, on success
 * @param retries how many times it had been retried when last received
 * @param parentId the task that sent it, or null
 * @param rootId the first task of its workflow, or null
 * @param eta when it was due, or null
 * @param expires when it expires, or null
 * @param stateTime epoch seconds of the event that set {@code state}
 * @param firstSeen epoch seconds when the dashboard first heard of it (the order of the history)
 * @param retriedAs id of the copy a dashboard user sent with "retry", or null
 * @param events the task's events, oldest first, at most {@link #MAX_EVENTS}
 */
public record TaskRecord(String id, @Nullable String name, String state, @Nullable String args,
                         @Nullable String kwargs, @Nullable String result, @Nullable String exception,
                         @Nullable String traceback, @Nullable String worker, @Nullable String queue,
                         @Nullable Double received, @Nullable Double started, @Nullable Double finished,
                         @Nullable Double runtime, int retries, @Nullable String parentId, @Nullable String rootId,
                         @Nullable String eta, @Nullable String expires, double stateTime, double firstSeen,
                         @Nullable String retriedAs, List<Event> events) {
    static final int MAX_EVENTS = 32;

    /** One event of a task: its type, time, the reporting worker and a one-line detail. */
    public record Event(String type, double timestamp, @Nullable String hostname, String detail) {
    }

    public TaskRecord {
        Objects.requireNonNull(id, "id");
        events = events == null ? List.of() : List.copyOf(events);
    }

    static TaskRecord empty(String id, double now) {
        return new TaskRecord(id, null, "PENDING", null, null, null, null, null, null, null, null, null, null, null,
                0, null, null, null, null, 0, now, null, List.of());
    }

    public boolean isTerminal() {
        return isTerminal(state);
    }

    // How history stores keep a record (one JSON document each): fields added later are ignored by older readers.
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind
            .ObjectMapper().configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES,
                    false);

    /** This record as a history store keeps it. */
    String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A record a history store kept ({@link #toJson}). */
    static TaskRecord fromJson(String json) {
        try {
            return JSON.readValue(json, TaskRecord.class);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static boolean isTerminal(String state) {
        return switch (state) {
            case "SUCCESS", "FAILURE", "REVOKED", "REJECTED" -> true;
            default -> false;
        };
    }

    TaskRecord withRetriedAs(String newId) {
        return new TaskRecord(id, name, state, args, kwargs, result, exception, traceback, worker, queue, received,
                started, finished, runtime, retries, parentId, rootId, eta, expires, stateTime, firstSeen, newId,
                events);
    }

    /** Applies one task event (Celery's format); events may arrive late or out of order. */
    TaskRecord apply(Map<String, Object> e) {
        String type = String.valueOf(e.get("type"));
        double ts = number(e.get("timestamp"), stateTime);
        String host = str(e.get("hostname"), worker);
        String newState = switch (type) {
            case "task-sent" -> "PENDING";
            case "task-received" -> "RECEIVED";
            case "task-started" -> "STARTED";
            case "task-succeeded" -> "SUCCESS";
            case "task-failed" -> "FAILURE";
            case "task-retried" -> "RETRY";
            case "task-revoked" -> "REVOKED";
            case "task-rejected" -> "REJECTED";
            default -> null;
        };
        if (newState == null) {
            return this;
        }
        // Events from one worker come in batches, from two workers in any order: a final state wins over a
        // non-final one whatever the stamps say; otherwise the later event wins.
        boolean takeState;
        if (isTerminal(newState) != isTerminal(state)) {
            takeState = isTerminal(newState) || ts > stateTime;
        } else {
            takeState = ts >= stateTime;
        }
        String st = takeState ? newState : state;
        double stTime = takeState ? ts : stateTime;
        String n = str(e.get("name"), name);
        String a = str(e.get("args"), args);
        String k = str(e.get("kwargs"), kwargs);
        String res = type.equals("task-succeeded") ? str(e.get("result"), result) : result;
        // A rejected task never ran, so it has no exception: its reason stands in (unregistered task, arguments
        // that do not fit), unless a failure already said more.
        String exc = type.equals("task-failed") || type.equals("task-retried") ? str(e.get("exception"), exception)
                : type.equals("task-rejected") && exception == null ? str(e.get("reason"), null) : exception;
        String tb = type.equals("task-failed") || type.equals("task-retried") ? str(e.get("traceback"), traceback)
                : traceback;
        String q = str(e.get("routing_key"), queue);
        Double rec = type.equals("task-received") ? Double.valueOf(ts) : received;
        Double sta = type.equals("task-started") ? Double.valueOf(ts) : started;
        Double fin = TaskRecord.isTerminal(newState) ? Double.valueOf(ts) : finished;
        Double run = e.get("runtime") instanceof Number r ? Double.valueOf(r.doubleValue()) : runtime;
        int ret = e.get("retries") instanceof Number r ? r.intValue() : retries;
        String parent = str(e.get("parent_id"), parentId);
        String root = str(e.get("root_id"), rootId);
        String et = str(e.get("eta"), eta);
        String ex = str(e.get("expires"), expires);
        List<Event> evs = new ArrayList<>(events.size() + 1);
        evs.addAll(events);
        evs.add(new Event(type, ts, host, detail(type, e)));
        if (evs.size() > 1 && evs.get(evs.size() - 2).timestamp() > ts) {
            evs.sort((x, y) -> Double.compare(x.timestamp(), y.timestamp())); // arrived out of order: rare
        }
        if (evs.size() > MAX_EVENTS) {
            evs = evs.subList(evs.size() - MAX_EVENTS, evs.size());
        }
        return new TaskRecord(id, n, st, a, k, res, exc, tb, host, q, rec, sta, fin, run, ret, parent, root, et, ex,
                stTime, firstSeen, retriedAs, evs);
    }

    private static String detail(String type, Map<String, Object> e) {
        return switch (type) {
            case "task-succeeded" -> "runtime " + e.get("runtime");
            case "task-failed", "task-retried" -> String.valueOf(e.get("exception"));
            case "task-received" -> "retries " + e.getOrDefault("retries", 0);
            case "task-rejected" -> e.get("reason") == null ? "" : String.valueOf(e.get("reason"));
            case "task-revoked" -> Boolean.TRUE.equals(e.get("terminated")) ? "terminated"
                    : Boolean.TRUE.equals(e.get("expired")) ? "expired" : "revoked";
            default -> "";
        };
    }

    private static @Nullable String str(@Nullable Object v, @Nullable String fallback) {
        return v == null ? fallback : String.valueOf(v);
    }

    private static double number(@Nullable Object v, double fallback) {
        return v instanceof Number n ? n.doubleValue() : fallback;
    }
}
