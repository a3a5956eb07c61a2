package io.celeriac.dashboard;

import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A filter over the task history, newest first.
 *
 * @param states states to include, or empty for all
 * @param name exact task name, or null
 * @param search case-insensitive text to find in the id, name, arguments, result or exception, or null
 * @param worker exact worker hostname, or null
 * @param root a workflow's root id: that task and every task whose root id it is; or null
 * @param parent a task id: the tasks it sent (chain step, chord body, callbacks, anything sent from inside it); or
 *     null
 * @param offset rows to skip
 * @param limit rows to return (capped at 500)
 */
public record TaskQuery(Set<String> states, @Nullable String name, @Nullable String search, @Nullable String worker,
                        @Nullable String root, @Nullable String parent, int offset, int limit) {
    public TaskQuery {
        states = states == null ? Set.of() : Set.copyOf(states);
        name = blankToNull(name);
        search = blankToNull(search);
        search = search == null ? null : search.toLowerCase(Locale.ROOT);
        worker = blankToNull(worker);
        root = blankToNull(root);
        parent = blankToNull(parent);
        offset = Math.max(0, offset);
        limit = Math.max(1, Math.min(500, limit));
    }

    /** A query on neither workflow nor parent. */
    public TaskQuery(Set<String> states, @Nullable String name, @Nullable String search, @Nullable String worker,
                     int offset, int limit) {
        this(states, name, search, worker, null, null, offset, limit);
    }

    public static TaskQuery all() {
        return new TaskQuery(Set.of(), null, null, null, 0, 50);
    }

    boolean matches(TaskRecord r) {
        if (!states.isEmpty() && !states.contains(r.state())) {
            return false;
        }
        if (name != null && !name.equals(r.name())) {
            return false;
        }
        if (worker != null && !worker.equals(r.worker())) {
            return false;
        }
        if (root != null && !root.equals(r.rootId()) && !root.equals(r.id())) {
            return false;
        }
        if (parent != null && !parent.equals(r.parentId())) {
            return false;
        }
        return search == null || contains(r.id()) || contains(r.name()) || contains(r.args()) || contains(r.kwargs())
                || contains(r.result()) || contains(r.exception());
    }

    private boolean contains(@Nullable String field) {
        return field != null && field.toLowerCase(Locale.ROOT).contains(search);
    }

    private static @Nullable String blankToNull(@Nullable String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }
}
