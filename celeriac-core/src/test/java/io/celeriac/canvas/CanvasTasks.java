package io.celeriac.canvas;

import io.celeriac.task.Task;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Tasks the canvas tests combine; {@link #SEEN} records what callbacks and errbacks were given. */
public class CanvasTasks {
    public static final Map<String, List<Object>> SEEN = new ConcurrentHashMap<>();

    public static void reset() {
        SEEN.clear();
    }

    @Task(name = "c.add")
    public int add(int x, int y) {
        return x + y;
    }

    @Task(name = "c.tsum")
    public int tsum(List<Integer> xs) {
        return xs.stream().mapToInt(Integer::intValue).sum();
    }

    @Task(name = "c.boom")
    public int boom(int x) {
        throw new IllegalStateException("boom " + x);
    }

    @Task(name = "c.record")
    public String record(Object value, String tag) {
        SEEN.computeIfAbsent(tag, k -> new CopyOnWriteArrayList<>()).add(value);
        return tag;
    }

    @Task(name = "c.collect")
    public List<Object> collect(List<Object> values) {
        return values;
    }
}
