package io.celeriac.redis.testing;

import io.celeriac.task.Task;

/** Slow acks-late work for the crash tests. */
public class SlowTasks {
    @Task(name = "slow.work", acksLate = Task.Toggle.ON)
    public int work(int i, int millis) throws InterruptedException {
        Thread.sleep(millis);
        return i;
    }
}
