package io.celeriac.dashboard;

import java.util.Collection;
import java.util.List;

/**
 * Where the task history outlives the dashboard process (Flower keeps it only in memory). The dashboard holds the
 * whole bounded history in memory for fast filtering and writes changed records behind, in batches.
 */
public interface HistoryStore extends AutoCloseable {
    /** The newest {@code max} records, newest first. */
    List<TaskRecord> load(int max);

    /** Adds or replaces records. */
    void save(Collection<TaskRecord> records);

    /** Drops all but the newest {@code max} records. */
    void trim(int max);

    /** Drops records by id (a dismissed failure). */
    void remove(Collection<String> ids);

    @Override
    default void close() {
    }

    /** A store that keeps nothing: the history lives and dies with the process. */
    static HistoryStore none() {
        return new HistoryStore() {
            @Override
            public List<TaskRecord> load(int max) {
                return List.of();
            }

            @Override
            public void save(Collection<TaskRecord> records) {
            }

            @Override
            public void trim(int max) {
            }

            @Override
            public void remove(Collection<String> ids) {
            }
        };
    }
}
