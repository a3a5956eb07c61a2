package io.celeriac.interop;

import io.celeriac.task.Arg;
import io.celeriac.task.Task;
import io.lettuce.core.api.sync.RedisCommands;

/** The Java side of the interop tasks; names match interop_tasks.py. */
public class InteropTasks {
    private final RedisCommands<String, String> ledger;

    public InteropTasks(RedisCommands<String, String> ledger) {
        this.ledger = ledger;
    }

    @Task(name = "interop.add")
    public int add(int x, int y) {
        return x + y;
    }

    /** Python's {@code def kw(a, b=2, *, c)}; callers leave {@code b} out. */
    @Task(name = "interop.kw")
    public int kw(int a, @Arg(defaultValue = "2") int b, int c) {
        return a * 100 + b * 10 + c;
    }

    @Task(name = "interop.boom")
    public void boom(String msg) {
        throw new IllegalArgumentException(msg);
    }

    /** Leaves one line per run, like the Python task of the same name. */
    @Task(name = "interop.record", acksLate = Task.Toggle.ON)
    public String record(int i) {
        synchronized (ledger) {
            ledger.rpush("interop:ran", "java:" + i);
        }
        return "java";
    }
}
