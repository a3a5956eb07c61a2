package io.celeriac.task;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A task by name, for sending: {@code app.task("tasks.add").delay(2, 3)}. Works for tasks defined in this process,
 * in another Java process, or in Python.
 */
public final class TaskStub {
    /** The app's send entry point. */
    @FunctionalInterface
    public interface Sender {
        AsyncResult send(String task, List<?> args, Map<String, ?> kwargs, SendOptions options);
    }

    private final String name;
    private final Sender sender;
    private final Canvas.Sender signatureSender;

    public TaskStub(String name, Sender sender, Canvas.Sender signatureSender) {
        this.name = name;
        this.sender = sender;
        this.signatureSender = signatureSender;
    }

    public String name() {
        return name;
    }

    /** Fire and forget with positional arguments (Celery's {@code delay}). */
    public AsyncResult delay(@Nullable Object... args) {
        return sender.send(name, Arrays.asList(args), Map.of(), SendOptions.none());
    }

    public AsyncResult applyAsync(List<?> args, Map<String, ?> kwargs, SendOptions options) {
        return sender.send(name, args, kwargs, options);
    }

    /** A signature with these arguments, to send later. */
    public Signature s(@Nullable Object... args) {
        return new Signature(name, Arrays.asList(args), Map.of(), SendOptions.none(), signatureSender);
    }
}
