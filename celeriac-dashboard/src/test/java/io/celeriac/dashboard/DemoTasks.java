package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.task.Canvas;
import io.celeriac.task.Task;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Tasks the dashboard tests watch. */
public class DemoTasks {
    private final Set<String> failedOnce = ConcurrentHashMap.newKeySet();
    /** The app the tasks run in, for tasks that send others; set once it is built. */
    volatile Celeriac app;

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

    /** A chord body: the sum of its parts' results. */
    @Task(name = "dash.tsum")
    public int tsum(List<Integer> values) {
        return values.stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * Starts a chord of {@code parts} additions ({@code i + i}) summed by {@code dash.tsum}, from inside a task, as an
     * application's "process the batch" task would: every part and the body share this task's root id.
     *
     * @return the chord body's task id
     */
    @Task(name = "dash.fanout")
    public String fanout(int parts) {
        List<Canvas> header = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            header.add(app.signature("dash.add", i, i));
        }
        return Canvas.chord(header, app.signature("dash.tsum")).applyAsync().id();
    }
}
