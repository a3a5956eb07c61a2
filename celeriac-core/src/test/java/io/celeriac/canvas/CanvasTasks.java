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

    /** Returns nothing: the next step or callback gets None (null). */
    @Task(name = "c.nothing")
    public void nothing() {
    }

    @Task(name = "c.record")
    public String record(Object value, String tag) {
        SEEN.computeIfAbsent(tag, k -> new CopyOnWriteArrayList<>()).add(value);
        return tag;
    }

    /** Replaces itself with {@code add(x, 1) | add(10)}. */
    @Task(name = "c.replace_chain")
    public int replaceChain(io.celeriac.task.TaskContext ctx, int x) {
        throw ctx.replace(io.celeriac.task.Canvas.chain(sig("c.add", x, 1), sig("c.add", 10)));
    }

    /** Replaces itself with {@code group(add(x, x), add(x, 1))}. */
    @Task(name = "c.replace_group")
    public int replaceGroup(io.celeriac.task.TaskContext ctx, int x) {
        throw ctx.replace(io.celeriac.task.Canvas.group(sig("c.add", x, x), sig("c.add", x, 1)));
    }

    private static io.celeriac.task.Signature sig(String task, Object... args) {
        return new io.celeriac.task.Signature(task, List.of(args), Map.of(), io.celeriac.task.SendOptions.none(),
                null);
    }

    @Task(name = "c.collect")
    public List<Object> collect(List<Object> values) {
        return values;
    }
}
