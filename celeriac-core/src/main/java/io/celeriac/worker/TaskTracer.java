package io.celeriac.worker;

import io.celeriac.protocol.MessageCodec;
import io.celeriac.backend.ResultCodec;
import io.celeriac.task.ArgumentMismatchException;
import io.celeriac.task.RetryException;
import io.celeriac.task.SoftTimeLimitExceeded;
import io.celeriac.task.TaskArgumentException;
import io.celeriac.task.TaskContext;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskRequest;

import java.io.InterruptedIOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.ClosedByInterruptException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Runs one task and classifies how it ended (Celery's {@code trace_task}). Shared by the worker and eager mode so
 * both follow the same retry and failure rules.
 */
final class TaskTracer {
    private final MessageCodec codec;
    private final List<TaskInterceptor> interceptors;

    public TaskTracer(MessageCodec codec) {
        this(codec, List.of());
    }

    public TaskTracer(MessageCodec codec, List<TaskInterceptor> interceptors) {
        this.codec = codec;
        this.interceptors = List.copyOf(interceptors);
    }

    private @Nullable Object invoke(TaskDefinition definition, TaskContext context, int index) throws Exception {
        TaskRequest request = context.request();
        if (index == interceptors.size()) {
            return definition.handler().run(context, request.args(), request.kwargs());
        }
        return interceptors.get(index).intercept(request, () -> invoke(definition, context, index + 1));
    }

    public Outcome run(TaskDefinition definition, TaskContext context) {
        TaskRequest request = context.request();
        try {
            Object returned = invoke(definition, context, 0);
            try {
                return new Outcome.Success(codec.toJsonValue(returned));
            } catch (IllegalArgumentException e) {
                return new Outcome.Failure(new TaskArgumentException("the return value of " + definition.name()
                        + " (" + returned.getClass().getName() + ") cannot travel as JSON: " + e.getMessage(), e));
            }
        } catch (RetryException retry) {
            return new Outcome.Retry(retry.countdown(), retry.reason());
        } catch (io.celeriac.task.TaskReplacedException replaced) {
            return new Outcome.Replaced(replaced.replacement());
        } catch (ArgumentMismatchException e) {
            return new Outcome.Rejected(e);
        } catch (Throwable error) {
            Throwable e = error;
            if (context.softTimeLimitExceeded() && !(e instanceof SoftTimeLimitExceeded) && isInterruption(e)) {
                // The worker interrupted the thread at the soft limit; report it as Celery would.
                SoftTimeLimitExceeded soft = new SoftTimeLimitExceeded("soft time limit exceeded");
                soft.initCause(e);
                e = soft;
            }
            int max = definition.options().maxRetries();
            if (RetryPolicy.autoretries(definition.options(), e) && (max < 0 || request.retries() < max)) {
                return new Outcome.Retry(RetryPolicy.countdown(definition.options(), request.retries(),
                        () -> ThreadLocalRandom.current().nextDouble()), e);
            }
            return new Outcome.Failure(e);
        }
    }

    private static boolean isInterruption(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InterruptedException || t instanceof InterruptedIOException
                    || t instanceof ClosedByInterruptException) {
                return true;
            }
        }
        return Thread.currentThread().isInterrupted();
    }

    /** Celery's failure result for a Java exception: simple (nested: dotted) class name and its package. */
    public static Map<String, Object> exceptionResult(Throwable e) {
        Class<?> type = e.getClass();
        String pkg = type.getPackageName();
        // Nested classes keep Python's dotted qualname style (Outer.Inner) so Python can print them.
        String name = type.getName().substring(pkg.isEmpty() ? 0 : pkg.length() + 1).replace('$', '.');
        return ResultCodec.exceptionResult(name, pkg, e.getMessage());
    }

    /** The stack trace as text, the {@code traceback} of a failure. */
    public static String traceback(Throwable e) {
        StringWriter w = new StringWriter();
        e.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
