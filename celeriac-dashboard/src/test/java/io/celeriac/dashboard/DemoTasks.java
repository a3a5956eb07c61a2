package io.celeriac.dashboard;

import io.celeriac.task.Task;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Tasks the dashboard tests watch. */
public class DemoTasks {
    private final Set<String> failedOnce = ConcurrentHashMap.newKeySet();

    @Task(name = "dash.add")
    public int add(int a, int b) {
        return a + b;
    }

    @Task(name = "dash.slow")
    public String slow(String tag, long millis) throws InterruptedException {
        Thread.sleep(millis);
        return tag;
    }

    /** Fails the first time it sees a key, succeeds after: what a dashboard retry is for. */
    @Task(name = "dash.flaky")
    public String flaky(String key) {
        if (failedOnce.add(key)) {
            throw new IllegalStateException("upstream unavailable for " + key);
        }
        return "ok " + key;
    }

    @Task(name = "dash.echo")
    public String echo(String text) {
        return text;
    }
}
