package io.celeriac.task;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A registered task: its name, options and the code it runs.
 *
 * @param name registered name
 * @param options declared options
 * @param handler the code
 * @param source where it was defined (e.g. {@code com.acme.EmailTasks#send(long)}), for error messages
 * @param parameterNames keyword names of the JSON parameters in order, null for one whose name is unknown (compiled
 *     without {@code -parameters} and no {@link Arg#name()}); empty when not known at all (lambdas)
 */
public record TaskDefinition(String name, TaskOptions options, TaskHandler handler, @Nullable String source,
                             List<@Nullable String> parameterNames) {
    public TaskDefinition {
        Objects.requireNonNull(name, "name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("task name must not be blank");
        }
        options = options == null ? TaskOptions.defaults() : options;
        Objects.requireNonNull(handler, "handler");
        source = source == null ? "lambda " + name : source;
        // Not List.copyOf: a name may be null.
        parameterNames = parameterNames == null ? List.of()
                : Collections.unmodifiableList(new ArrayList<>(parameterNames));
    }

    /** A task given as a lambda, e.g. in tests or small apps. */
    public static TaskDefinition of(String name, TaskOptions options, TaskHandler handler) {
        return new TaskDefinition(name, options, handler, null, List.of());
    }

    public static TaskDefinition of(String name, TaskHandler handler) {
        return of(name, TaskOptions.defaults(), handler);
    }

    /**
     * Checks, before sending, that a call with these arguments would bind to this task: positional count, keyword
     * names, and every parameter without a default given. Values are not converted (the worker does that).
     *
     * @throws ArgumentMismatchException if it would not
     */
    public void checkArguments(List<Object> args, java.util.Map<String, Object> kwargs) {
        if (handler instanceof MethodTaskHandler m) {
            m.checkShape(args, kwargs);
        }
    }
}
