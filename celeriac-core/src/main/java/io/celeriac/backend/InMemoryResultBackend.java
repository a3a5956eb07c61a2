package io.celeriac.backend;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/** Results kept in the JVM, for the embedded default and eager mode. Honours {@code result_expires}. */
public final class InMemoryResultBackend implements ResultBackend {
    private record Entry(ResultDocument doc, @Nullable Instant expiresAt) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Entry> results = new HashMap<>();
    private final @Nullable Duration expires;
    private final Clock clock;
    private int writes;

    /** @param expires how long results live; null or zero = forever */
    public InMemoryResultBackend(@Nullable Duration expires, Clock clock) {
        this.expires = expires == null || expires.isZero() ? null : expires;
        this.clock = clock;
    }

    public InMemoryResultBackend() {
        this(Duration.ofDays(1), Clock.systemUTC());
    }

    @Override
    public void store(List<ResultDocument> documents) {
        lock.lock();
        try {
            Instant at = expires == null ? null : clock.instant().plus(expires);
            for (ResultDocument d : documents) {
                results.put(d.taskId(), new Entry(d, at));
            }
            writes++;
            // Expired entries are dropped as we go so a long-running demo does not grow without bound.
            if (writes % 1024 == 0) {
                Instant now = clock.instant();
                results.values().removeIf(e -> e.expiresAt != null && !e.expiresAt.isAfter(now));
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Optional<ResultDocument> get(String taskId) {
        lock.lock();
        try {
            return Optional.ofNullable(live(taskId));
        } finally {
            lock.unlock();
        }
    }

    private @Nullable ResultDocument live(String taskId) {
        Entry e = results.get(taskId);
        if (e == null) {
            return null;
        }
        if (e.expiresAt != null && !e.expiresAt.isAfter(clock.instant())) {
            results.remove(taskId);
            return null;
        }
        return e.doc;
    }

    @Override
    public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lockInterruptibly();
        try {
            while (true) {
                ResultDocument d = live(taskId);
                long left = deadline - System.nanoTime();
                if ((d != null && d.ready()) || left <= 0) {
                    return Optional.ofNullable(d);
                }
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void forget(Collection<String> taskIds) {
        lock.lock();
        try {
            taskIds.forEach(results::remove);
        } finally {
            lock.unlock();
        }
    }

    /** Number of stored (possibly expired, not yet collected) results. */
    public int size() {
        lock.lock();
        try {
            return results.size();
        } finally {
            lock.unlock();
        }
    }

    private final InMemoryChords chords = new InMemoryChords();

    @Override
    public Optional<ChordCounter> chords() {
        return Optional.of(chords);
    }

    /** Chord parts per group, under one lock: one caller sees each chord complete. */
    private static final class InMemoryChords implements ChordCounter {
        private final Map<String, Integer> sizes = new HashMap<>();
        private final Map<String, java.util.TreeMap<String, Object[]>> parts = new HashMap<>();

        @Override
        public synchronized void setSize(String groupId, int size) {
            sizes.put(groupId, size);
        }

        @Override
        public synchronized Optional<List<Part>> partDone(String groupId, String taskId, @Nullable Integer groupIndex,
                                                          String state, @Nullable Object result) {
            java.util.TreeMap<String, Object[]> p = parts.computeIfAbsent(groupId, k -> new java.util.TreeMap<>());
            p.put(taskId, new Object[] {groupIndex == null ? Integer.MAX_VALUE : groupIndex, new Part(taskId, state,
                    result)});
            Integer size = sizes.get(groupId);
            if (size == null || p.size() != size) {
                return Optional.empty();
            }
            return Optional.of(p.values().stream()
                    .sorted(java.util.Comparator.comparingInt(a -> (Integer) a[0]))
                    .map(a -> (Part) a[1]).toList());
        }

        @Override
        public synchronized void forget(String groupId) {
            sizes.remove(groupId);
            parts.remove(groupId);
        }
    }
}
