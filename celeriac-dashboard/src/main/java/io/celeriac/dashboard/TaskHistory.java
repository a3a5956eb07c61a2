package io.celeriac.dashboard;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * The bounded task history: every task the dashboard has heard of, newest first, at most {@code capacity}. It is
 * kept whole in memory, so filtering 100k tasks is a scan of an array rather than a store query, and written behind
 * to a {@link HistoryStore} so that it survives a restart.
 */
public final class TaskHistory {
    private static final Logger log = LoggerFactory.getLogger(TaskHistory.class);

    private final int capacity;
    private final HistoryStore store;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<String, TaskRecord> byId = new HashMap<>();
    /** Ids in the order first seen; the oldest is evicted first. */
    private final ArrayDeque<String> order = new ArrayDeque<>();
    private final Map<String, TaskRecord> dirty = new LinkedHashMap<>();
    private final List<Consumer<List<TaskRecord>>> listeners = new CopyOnWriteArrayList<>();
    private final TreeSet<String> names = new TreeSet<>();
    /**
     * Workflow members by root id: tasks whose root is another task. A task that is its own root (every task sent
     * outside a workflow) is not indexed, so a history of plain tasks costs nothing here.
     */
    private final Map<String, Set<String>> byRoot = new HashMap<>();

    /** A history with what the store holds loaded now (the store must answer). */
    public TaskHistory(int capacity, HistoryStore store) {
        this(capacity, store, true);
    }

    /**
     * @param loadNow false to start empty and {@link #loadSaved()} later, when the store answers (a dashboard
     *     started while Redis is down)
     */
    public TaskHistory(int capacity, HistoryStore store, boolean loadNow) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
        this.store = store;
        if (loadNow) {
            loadSaved();
        }
    }

    /**
     * Loads the newest records the store holds. Records already here win (they are newer news of the same task) and
     * stay the newest; saved ones go behind them, as far as the capacity allows.
     *
     * @return how many records were added
     */
    public int loadSaved() {
        List<TaskRecord> saved = store.load(capacity);
        int added = 0;
        lock.writeLock().lock();
        try {
            // saved is newest first: each one goes behind (older than) everything already placed.
            for (TaskRecord r : saved) {
                if (order.size() >= capacity) {
                    break;
                }
                if (byId.putIfAbsent(r.id(), r) == null) {
                    order.addFirst(r.id());
                    index(null, r);
                    added++;
                    if (r.name() != null) {
                        names.add(r.name());
                    }
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
        if (added > 0) {
            log.info("task history: loaded {} tasks", added);
        }
        return added;
    }

    public int capacity() {
        return capacity;
    }

    public int size() {
        lock.readLock().lock();
        try {
            return byId.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Called with the records each batch of events changed. */
    public void onChange(Consumer<List<TaskRecord>> listener) {
        listeners.add(listener);
    }

    /** Applies a batch of task events (Celery format); returns the changed records. */
    public List<TaskRecord> apply(Collection<Map<String, Object>> events, double now) {
        Map<String, TaskRecord> changed = new LinkedHashMap<>();
        lock.writeLock().lock();
        try {
            for (Map<String, Object> e : events) {
                Object uuid = e.get("uuid");
                if (uuid == null || !String.valueOf(e.get("type")).startsWith("task-")) {
                    continue;
                }
                String id = String.valueOf(uuid);
                TaskRecord cur = byId.get(id);
                if (cur == null) {
                    cur = TaskRecord.empty(id, now);
                    order.addLast(id);
                    evictOverflow();
                }
                TaskRecord next = cur.apply(e);
                byId.put(id, next);
                index(cur, next);
                if (next.name() != null) {
                    names.add(next.name());
                }
                changed.put(id, next);
                dirty.put(id, next);
            }
        } finally {
            lock.writeLock().unlock();
        }
        List<TaskRecord> out = List.copyOf(changed.values());
        if (!out.isEmpty()) {
            listeners.forEach(l -> l.accept(out));
        }
        return out;
    }

    /** Adds or replaces whole records (a retry's link, or a bulk import). */
    public void put(TaskRecord r) {
        lock.writeLock().lock();
        try {
            TaskRecord old = byId.put(r.id(), r);
            index(old, r);
            if (old == null) {
                order.addLast(r.id());
                evictOverflow();
            }
            if (r.name() != null) {
                names.add(r.name());
            }
            dirty.put(r.id(), r);
        } finally {
            lock.writeLock().unlock();
        }
        listeners.forEach(l -> l.accept(List.of(r)));
    }

    private void evictOverflow() {
        while (order.size() > capacity) {
            String old = order.pollFirst();
            index(byId.remove(old), null);
            dirty.remove(old);
        }
    }

    /**
     * Forgets tasks (the Failed page's "discard"): gone from the history here and in the store. Returns how many
     * were there. Late events for them would bring them back, as for any task first heard of.
     */
    public int remove(Collection<String> ids) {
        List<String> removed = new ArrayList<>();
        lock.writeLock().lock();
        try {
            for (String id : ids) {
                TaskRecord r = byId.remove(id);
                if (r != null) {
                    index(r, null);
                    removed.add(id);
                    dirty.remove(id);
                }
            }
            order.removeAll(new java.util.HashSet<>(removed));
        } finally {
            lock.writeLock().unlock();
        }
        store.remove(removed);
        return removed.size();
    }

    public Optional<TaskRecord> get(String id) {
        lock.readLock().lock();
        try {
            return Optional.ofNullable(byId.get(id));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Moves a record in the root index from its old root to its new one; either may be null. Under the write lock. */
    private void index(@Nullable TaskRecord old, @Nullable TaskRecord next) {
        String was = workflowRoot(old);
        String now = workflowRoot(next);
        if (Objects.equals(was, now)) {
            return;
        }
        if (was != null) {
            Set<String> members = byRoot.get(was);
            if (members != null && members.remove(old.id()) && members.isEmpty()) {
                byRoot.remove(was);
            }
        }
        if (now != null) {
            byRoot.computeIfAbsent(now, k -> new HashSet<>()).add(next.id());
        }
    }

    /** The root a record is indexed under: its root id, unless it has none or is its own root. */
    private static @Nullable String workflowRoot(@Nullable TaskRecord r) {
        return r == null || r.rootId() == null || r.rootId().equals(r.id()) ? null : r.rootId();
    }

    /**
     * The workflow task {@code id} belongs to: the tasks sharing its root id, as a bounded tree (see
     * {@link Workflow}). Empty if the history holds neither the task nor any task whose root it is.
     *
     * @param limit how many tasks to list, at most {@link Workflow#MAX_LIMIT}
     */
    public Optional<Workflow> workflow(String id, int limit) {
        List<TaskRecord> members = new ArrayList<>();
        String root;
        lock.readLock().lock();
        try {
            TaskRecord r = byId.get(id);
            // A task sent outside any task is its own root (Celeriac) or has none (Python Celery's first chain step,
            // whose followers still name it as their root).
            root = r == null || r.rootId() == null ? id : r.rootId();
            TaskRecord rootRecord = byId.get(root);
            if (rootRecord != null) {
                members.add(rootRecord);
            }
            for (String m : byRoot.getOrDefault(root, Set.of())) {
                members.add(byId.get(m));
            }
        } finally {
            lock.readLock().unlock();
        }
        return members.isEmpty() ? Optional.empty() : Optional.of(Workflow.of(root, id, members, limit));
    }

    /** Tasks whose parent is {@code id}. */
    public List<TaskRecord> children(String id) {
        List<TaskRecord> out = new ArrayList<>();
        scan(r -> {
            if (id.equals(r.parentId())) {
                out.add(r);
            }
        });
        return out;
    }

    /** One page of the tasks matching {@code q}, newest first, and how many match in all. */
    public Page query(TaskQuery q) {
        List<TaskRecord> items = new ArrayList<>(q.limit());
        int total = 0;
        lock.readLock().lock();
        try {
            Iterator<String> it = order.descendingIterator();
            while (it.hasNext()) {
                TaskRecord r = byId.get(it.next());
                if (q.matches(r)) {
                    if (total >= q.offset() && items.size() < q.limit()) {
                        items.add(r);
                    }
                    total++;
                }
            }
        } finally {
            lock.readLock().unlock();
        }
        return new Page(total, q.offset(), q.limit(), items);
    }

    /** Visits every record, newest first, under the read lock. */
    public void scan(Consumer<TaskRecord> visitor) {
        lock.readLock().lock();
        try {
            Iterator<String> it = order.descendingIterator();
            while (it.hasNext()) {
                visitor.accept(byId.get(it.next()));
            }
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Task names seen, sorted. */
    public List<String> names() {
        lock.readLock().lock();
        try {
            return List.copyOf(names);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Writes changed records to the store and trims it; called every half second by the dashboard. */
    public void flush() {
        List<TaskRecord> batch;
        lock.writeLock().lock();
        try {
            if (dirty.isEmpty()) {
                return;
            }
            batch = new ArrayList<>(dirty.values());
            dirty.clear();
        } finally {
            lock.writeLock().unlock();
        }
        try {
            store.save(batch);
            store.trim(capacity);
        } catch (RuntimeException e) {
            // Keep them for the next flush: a store outage must not lose the history it can still write later.
            lock.writeLock().lock();
            try {
                batch.forEach(r -> {
                    if (byId.containsKey(r.id())) {
                        dirty.putIfAbsent(r.id(), byId.get(r.id()));
                    }
                });
            } finally {
                lock.writeLock().unlock();
            }
            log.warn("task history: could not save {} records: {}", batch.size(), e.toString());
        }
    }

    /** One page of a query. */
    public record Page(int total, int offset, int limit, List<TaskRecord> items) {
    }
}
