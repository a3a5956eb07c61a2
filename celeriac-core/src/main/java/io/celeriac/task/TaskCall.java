package io.celeriac.task;

import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One call of a task with its result type: what the typed forms of {@link TypedSender} resolve a method reference
 * ({@code app.send(EmailTasks::sendWelcome, 42L)}) or a client interface's method into, before sending it. Built by
 * hand, it gives a typed result for a task this process knows only by name, a Python one say:
 *
 * <pre>{@code
 * TypedAsyncResult<Integer> sum = app.send(
 *         new TaskCall<>("tasks.add", List.of(2, 3), Integer.class, SendOptions.none()));
 * }</pre>
 *
 * @param task the registered name
 * @param args the positional arguments, as Java values (converted to JSON when sent); may hold nulls
 * @param resultType what the task returns, to which {@link TypedAsyncResult#get} converts its JSON result (a
 *     {@code Class}, or a {@code ParameterizedType} such as {@code List<Invoice>}); {@code Void.class} for none
 * @param options how it is sent unless the caller says otherwise: the send options its {@link Task} declares
 *     (queue, priority, expires, ignore result, unique)
 * @param <R> the result type, as the compiler knows it
 */
public record TaskCall<R>(String task, List<@Nullable Object> args, Type resultType, SendOptions options) {
    public TaskCall {
        Objects.requireNonNull(task, "task");
        if (task.isBlank()) {
            throw new IllegalArgumentException("task name must not be blank");
        }
        // Not List.copyOf: an argument may be null (Python's None).
        args = Collections.unmodifiableList(new ArrayList<>(Objects.requireNonNull(args, "args")));
        Objects.requireNonNull(resultType, "resultType");
        Objects.requireNonNull(options, "options");
    }

    @Override
    public String toString() {
        return task + args;
    }
}
