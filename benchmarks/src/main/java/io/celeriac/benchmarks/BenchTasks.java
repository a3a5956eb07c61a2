package io.celeriac.benchmarks;

import io.celeriac.task.Task;

import java.time.Instant;

/** The benchmark's tasks, the same names and shapes as {@code celery_bench.py}'s. */
public class BenchTasks {
    /**
     * Does nothing but report how long after its publication it started.
     *
     * @param sentAt seconds since the epoch when the producer published it (microsecond resolution)
     * @return start latency in seconds
     */
    @Task(name = "bench.noop")
    public double noop(double sentAt) {
        return now() - sentAt;
    }

    /**
     * Reports when it started (for {@code footprint.sh}: worker process start to first task started).
     *
     * @return seconds since the epoch, microsecond resolution
     */
    @Task(name = "bench.now")
    public double started() {
        return now();
    }

    /** Wall-clock seconds since the epoch; {@link Instant#now()} has microsecond resolution on Linux. */
    static double now() {
        Instant i = Instant.now();
        return i.getEpochSecond() + i.getNano() / 1e9;
    }
}
