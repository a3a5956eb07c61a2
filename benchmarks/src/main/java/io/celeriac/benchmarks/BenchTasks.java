package io.celeriac.benchmarks;

import io.celeriac.task.Task;

/** The benchmark's task, the same name and shape as {@code celery_bench.py}'s. */
public class BenchTasks {
    /**
     * Does nothing but report how long after its publication it started.
     *
     * @param sentAt seconds since the epoch when the producer published it
     * @return start latency in seconds
     */
    @Task(name = "bench.noop")
    public double noop(double sentAt) {
        return System.currentTimeMillis() / 1000.0 - sentAt;
    }
}
