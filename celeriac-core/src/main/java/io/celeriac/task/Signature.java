package io.celeriac.task;

import io.celeriac.protocol.JsonValues;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A task call that can be sent later, Celery's {@code task.s(...)}: name, arguments and send options. Create with
 * {@code app.signature(...)} or {@code app.task(name).s(...)}; send with {@link #delay()} / {@link #applyAsync()},
 * or many at once with {@code app.sendAll(signatures)} (one round trip).
 */
public final class Signature {
    /** Sends signatures; given by the app that created the signature. */
    @FunctionalInterface
    public interface Sender {
        AsyncResult send(Signature signature);
    }

    private final String task;
    private final List<Object> args;
    private final Map<String, Object> kwargs;
    private final SendOptions options;
    private final transient Sender sender;

    public Signature(String task, List<?> args, Map<String, ?> kwargs, SendOptions options, Sender sender) {
        this.task = Objects.requireNonNull(task, "task");
        this.args = JsonValues.immutableList(args);
        this.kwargs = JsonValues.immutableMap(kwargs);
        this.options = options == null ? SendOptions.none() : options;
        this.sender = sender;
    }

    public String task() { return task; }
    public List<Object> args() { return args; }
    public Map<String, Object> kwargs() { return kwargs; }
    public SendOptions options() { return options; }

    /** A copy with other send options. */
    public Signature withOptions(SendOptions newOptions) {
        return new Signature(task, args, kwargs, newOptions, sender);
    }

    public AsyncResult delay() {
        return applyAsync();
    }

    public AsyncResult applyAsync() {
        if (sender == null) {
            throw new IllegalStateException("signature " + task + " is not bound to an app; send it with app.send");
        }
        return sender.send(this);
    }

    /** Celery's dict form of a signature ({@code task, args, kwargs, options, subtask_type, immutable}). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task);
        m.put("args", args);
        m.put("kwargs", kwargs);
        Map<String, Object> opts = new LinkedHashMap<>();
        options.queue().ifPresent(q -> opts.put("queue", q));
        options.taskId().ifPresent(id -> opts.put("task_id", id));
        options.priority().ifPresent(p -> opts.put("priority", p));
        m.put("options", opts);
        m.put("subtask_type", null);
        m.put("immutable", false);
        return m;
    }

    @Override
    public String toString() {
        return task + args + (kwargs.isEmpty() ? "" : kwargs);
    }
}
