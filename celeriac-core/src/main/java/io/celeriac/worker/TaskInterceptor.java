package io.celeriac.worker;

import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;

/**
 * Wraps the execution of every task on the task's own thread: the place to make a trace context current, open an
 * MDC scope or time the call. Interceptors run in the order they were added, the first outermost.
 */
@FunctionalInterface
public interface TaskInterceptor {
    /** The rest of the chain, ending in the task itself. */
    @FunctionalInterface
    interface Invocation {
        @Nullable Object proceed() throws Exception;
    }

    @Nullable Object intercept(TaskRequest request, Invocation next) throws Exception;
}
