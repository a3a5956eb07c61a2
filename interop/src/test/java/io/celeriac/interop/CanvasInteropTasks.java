package io.celeriac.interop;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The Java side of the canvas interop tasks; names and behaviour match canvas_tasks.py, except that traces say
 * "java:" where Python's say "py:", and {@code acc.java_append} is Java's only (Python's twin is
 * {@code acc.py_append}).
 */
public class CanvasInteropTasks {
    private final RedisCommands<String, String> ledger;
    private final RedisCommands<String, String> results;
    private final ObjectMapper json = new ObjectMapper();

    /**
     * @param ledger the broker's database, where traces go (as in interop_tasks.py)
     * @param results the result backend's database, where chords are counted
     */
    public CanvasInteropTasks(RedisCommands<String, String> ledger, RedisCommands<String, String> results) {
        this.ledger = ledger;
        this.results = results;
    }

    @Task(name = "acc.add")
    public int add(int x, int y) {
        return x + y;
    }

    @Task(name = "acc.tsum")
    public int tsum(List<Integer> xs) {
        return xs.stream().mapToInt(Integer::intValue).sum();
    }

    @Task(name = "acc.collect")
    public List<Object> collect(List<Object> xs) {
        return xs;
    }

    @Task(name = "acc.echo")
    public Object echo(Object value, double delay) throws InterruptedException {
        Thread.sleep(Math.round(delay * 1000));
        return value;
    }

    @Task(name = "acc.boom")
    public Object boom(Object msg) {
        throw new IllegalArgumentException("boom " + msg);
    }

    @Task(name = "acc.record")
    public String record(Object value, String tag) throws JsonProcessingException {
        ledger.rpush("acc:seen:" + tag, json.writeValueAsString(List.of("java", value)));
        return tag;
    }

    /** Celery's old-style errback: called with the failed task's id. */
    @Task(name = "acc.errback")
    public String errback(String taskId) {
        ledger.rpush("acc:errbacks", "java:" + taskId);
        return taskId;
    }

    /**
     * Held until the other side has started a part too (for at most 10 s), so neither worker can drain the shared
     * queue alone: a worker that took its fill waits for the other to take some.
     */
    @Task(name = "acc.part")
    public int part(String run, int i) throws InterruptedException {
        String sides = "acc:sides:" + run;
        ledger.sadd(sides, "java");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ledger.scard(sides) < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ledger.rpush("acc:parts:" + run, "java:" + i);
        return i;
    }

    /** Finishes only after the chord's other {@code n} parts are counted, so this worker counts the last part. */
    @Task(name = "acc.gate")
    public int gate(TaskContext ctx, String run, int n) throws InterruptedException {
        String key = "celery-taskset-meta-" + ctx.request().groupId() + ".j";
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (results.zcard(key) < n) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + results.zcard(key) + " of " + n + " parts were counted");
            }
            Thread.sleep(20);
        }
        ledger.rpush("acc:parts:" + run, "java:gate");
        return -1;
    }

    @Task(name = "acc.body")
    public int body(List<Integer> values, String run) {
        ledger.rpush("acc:bodies:" + run, "java");
        return values.stream().mapToInt(Integer::intValue).sum();
    }

    @Task(name = "acc.java_append")
    public List<String> javaAppend(List<String> trail, String tag) {
        List<String> out = new ArrayList<>(trail);
        out.add("java:" + tag);
        return out;
    }
}
