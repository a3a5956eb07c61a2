package io.celeriac.cli;

import io.celeriac.task.Task;

/**
 * Tasks for the CLI tests that the demo has no use for: one that raises, one that outruns its time limit, one that
 * takes its time. A worker started from the jar finds them on its class path ({@link CeleriacJar#startWithTasks}).
 */
public class CliTestTasks {
    @Task(name = "cli.fail")
    public String fail(String what) {
        throw new IllegalStateException("upstream down for " + what);
    }

    @Task(name = "cli.overrun", timeLimit = 1)
    public String overrun() throws InterruptedException {
        Thread.sleep(30_000);
        return "never";
    }

    @Task(name = "cli.nap")
    public String nap(long millis) throws InterruptedException {
        Thread.sleep(millis);
        return "rested";
    }
}
