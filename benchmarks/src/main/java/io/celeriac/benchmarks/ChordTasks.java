package io.celeriac.benchmarks;

import io.celeriac.task.Task;

import java.util.List;

/** The chord benchmark's tasks, the same names and shapes as {@code celery_chord.py}'s. */
public class ChordTasks {
    /** A chord part that does nothing; its result is {@code null} (Python's {@code None}). */
    @Task(name = "chord.noop")
    public Object noop() {
        return null;
    }

    /**
     * The chord body: gets the list of the header's results and returns its size, so the caller can check that
     * every part was counted once.
     */
    @Task(name = "chord.count")
    public int count(List<Object> results) {
        return results.size();
    }
}
