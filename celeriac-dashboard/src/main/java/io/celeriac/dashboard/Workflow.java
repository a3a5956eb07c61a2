package io.celeriac.dashboard;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The workflow a task belongs to, as the task page shows it: every task of the history with the same root id (Celery's
 * {@code root_id}: the first task of a chain, or the task that started the canvas), arranged as a tree by parent id
 * ({@code parent_id}: a chain step's previous step, a chord body's completing part, a callback's task).
 *
 * <p>Bounded, so that a 10,000-part chord is a summary rather than 10,000 rows: {@link #states()} counts every task,
 * and {@link #nodes()} lists {@code limit} of them, in tree order (depth first, siblings in the order they were
 * received), plus, past the limit, the asked-for task and its nearest {@value #ANCESTORS_SHOWN} ancestors. Under each
 * task only the first {@value #CHILDREN_SHOWN} children that started no task are listed; the rest are counted on
 * it ({@link Node#hiddenChildren()}, {@link Node#hiddenStates()}). Children that started others (a chord's completing
 * part, with the body under it) are not cut by that cap, so the shape of the workflow shows first.
 *
 * <p>Group ids are not part of it: neither Celery's nor Celeriac's task events carry a task's group, so the members
 * of a group show as children of the task that sent the group, when one did.
 *
 * @param rootId the workflow's root id
 * @param taskId the task it was asked for
 * @param total how many tasks of the workflow the history holds
 * @param states how many of them are in each state (all of them, not only those in {@code nodes})
 * @param nodes the tasks shown, in tree order
 */
public record Workflow(String rootId, String taskId, int total, Map<String, Integer> states, List<Node> nodes) {
    /** Children listed under one task before the rest are only counted, unless they started tasks themselves. */
    public static final int CHILDREN_SHOWN = 50;
    /** Tasks listed by default. */
    public static final int DEFAULT_LIMIT = 200;
    /** The most tasks one call lists. */
    public static final int MAX_LIMIT = 1000;
    /** Ancestors of the asked-for task listed even past the limit (a chain's previous steps). */
    public static final int ANCESTORS_SHOWN = 10;

    private static final List<String> STATE_ORDER = List.of("PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS",
            "FAILURE", "REVOKED", "REJECTED");

    /**
     * One task of the tree.
     *
     * @param task the task
     * @param depth 0 for a task whose parent is not in the workflow (the root), 1 for its children, and so on
     * @param children how many children it has in the workflow
     * @param hiddenChildren how many of them are not in {@link #nodes()} because of the per-task cap
     * @param hiddenStates the states of those, counted
     */
    public record Node(TaskRecord task, int depth, int children, int hiddenChildren, Map<String, Integer> hiddenStates) {
        public Node {
            Objects.requireNonNull(task, "task");
            hiddenStates = Collections.unmodifiableMap(new LinkedHashMap<>(hiddenStates));
        }
    }

    public Workflow {
        states = Collections.unmodifiableMap(new LinkedHashMap<>(states));
        nodes = List.copyOf(nodes);
    }

    /** How many tasks of the workflow {@link #nodes()} leaves out. */
    public int hidden() {
        return total - nodes.size();
    }

    /**
     * Arranges {@code members} (the tasks sharing {@code rootId}) as a tree.
     *
     * @param limit how many tasks to list (clamped to 1..{@value #MAX_LIMIT}); the asked-for task and its nearest
     *     ancestors are listed even past it
     */
    static Workflow of(String rootId, String taskId, Collection<TaskRecord> members, int limit) {
        limit = Math.max(1, Math.min(MAX_LIMIT, limit));
        Map<String, TaskRecord> byId = new HashMap<>();
        for (TaskRecord r : members) {
            byId.put(r.id(), r);
        }
        Comparator<TaskRecord> order = Comparator.comparingDouble(Workflow::seen).thenComparing(TaskRecord::id);
        Map<String, List<TaskRecord>> kids = new HashMap<>();
        List<TaskRecord> tops = new ArrayList<>();
        for (TaskRecord r : byId.values()) {
            String parent = r.parentId();
            if (parent == null || parent.equals(r.id()) || !byId.containsKey(parent)) {
                tops.add(r);
            } else {
                kids.computeIfAbsent(parent, p -> new ArrayList<>()).add(r);
            }
        }
        kids.values().forEach(l -> l.sort(order));
        // The root first, whatever the clocks say; then other tasks whose parent is not here, oldest first.
        tops.sort(Comparator.comparing((TaskRecord r) -> !r.id().equals(rootId)).thenComparing(order));

        // The way from the top down to the asked-for task, walked whatever the budget; its last steps are listed.
        List<String> up = new ArrayList<>();
        Set<String> path = new HashSet<>();
        for (String id = taskId; id != null && byId.containsKey(id) && path.add(id); ) {
            up.add(id);
            id = byId.get(id).parentId();
        }
        Set<String> pinned = new HashSet<>(up.subList(0, Math.min(up.size(), ANCESTORS_SHOWN + 1)));

        Walk walk = new Walk(kids, path, pinned, limit);
        for (TaskRecord top : tops) {
            walk.from(top);
        }
        if (walk.visited.size() < byId.size() && (walk.budget > 0 || !walk.visited.containsAll(pinned))) {
            // Tasks whose parents form a loop (bad data) have no top: each loop is walked from its oldest task.
            List<TaskRecord> rest = new ArrayList<>(byId.values());
            rest.sort(order);
            rest.forEach(walk::from);
        }
        return new Workflow(rootId, taskId, byId.size(), count(byId.values()), walk.nodes);
    }

    /**
     * A depth-first walk that lists nodes while the budget lasts; after that it goes on only down the path to the
     * asked-for task, listing the pinned end of it.
     */
    private static final class Walk {
        private final Map<String, List<TaskRecord>> kids;
        private final Set<String> path;
        private final Set<String> pinned;
        private final Set<String> visited = new HashSet<>();
        private final List<Node> nodes = new ArrayList<>();
        private int budget;

        Walk(Map<String, List<TaskRecord>> kids, Set<String> path, Set<String> pinned, int budget) {
            this.kids = kids;
            this.path = path;
            this.pinned = pinned;
            this.budget = budget;
        }

        void from(TaskRecord top) {
            // An explicit stack: a chain of 10,000 steps is a tree 10,000 deep.
            ArrayDeque<Map.Entry<TaskRecord, Integer>> stack = new ArrayDeque<>();
            stack.push(Map.entry(top, 0));
            while (!stack.isEmpty()) {
                Map.Entry<TaskRecord, Integer> frame = stack.pop();
                TaskRecord r = frame.getKey();
                int depth = frame.getValue();
                if (!visited.add(r.id())) {
                    continue;
                }
                List<TaskRecord> children = kids.getOrDefault(r.id(), List.of());
                if (budget <= 0 && !pinned.contains(r.id())) {
                    if (path.contains(r.id())) {
                        children.stream().filter(c -> path.contains(c.id()))
                                .forEach(c -> stack.push(Map.entry(c, depth + 1)));
                    }
                    continue;
                }
                budget--;
                List<TaskRecord> shown = new ArrayList<>();
                List<TaskRecord> left = new ArrayList<>();
                int leaves = 0;
                for (TaskRecord c : children) {
                    if (visited.contains(c.id())) {
                        continue;
                    }
                    // The shape first: what is asked for, and what started other tasks, is never cut by the cap.
                    boolean keep = path.contains(c.id()) || kids.containsKey(c.id());
                    if (keep || leaves < CHILDREN_SHOWN) {
                        shown.add(c);
                        leaves += keep ? 0 : 1;
                    } else {
                        left.add(c);
                        visited.add(c.id());
                    }
                }
                nodes.add(new Node(r, depth, children.size(), left.size(), count(left)));
                for (int i = shown.size() - 1; i >= 0; i--) {
                    stack.push(Map.entry(shown.get(i), depth + 1));
                }
            }
        }
    }

    /** When the task was received, or else first heard of: the order siblings are listed in. */
    private static double seen(TaskRecord r) {
        return r.received() != null ? r.received() : r.firstSeen();
    }

    private static Map<String, Integer> count(Collection<TaskRecord> records) {
        Map<String, Integer> n = new HashMap<>();
        for (TaskRecord r : records) {
            n.merge(r.state(), 1, Integer::sum);
        }
        Map<String, Integer> ordered = new LinkedHashMap<>();
        for (String s : STATE_ORDER) {
            if (n.containsKey(s)) {
                ordered.put(s, n.remove(s));
            }
        }
        new TreeMap<>(n).forEach(ordered::put); // custom states, by name
        return ordered;
    }
}
