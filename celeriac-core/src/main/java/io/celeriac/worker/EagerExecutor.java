package io.celeriac.worker;

import io.celeriac.CeleriacException;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.CurrentTask;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskContext;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskRequest;
import io.celeriac.backend.TaskState;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * {@code task_always_eager}: runs the task in the caller's thread at send time, with the same tracing rules as a
 * worker (retries run again at once, ignoring their countdown), and returns its result without a broker. Meant for
 * users' unit tests.
 */
public final class EagerExecutor {
    /** Builds the message a send would publish (the app's routing and headers), so eager runs see the same request. */
    @FunctionalInterface
    public interface MessageBuilder {
        TaskMessage build(String task, List<Object> args, Map<String, Object> kwargs, SendOptions options);
    }

    private final WorkerEnvironment env;
    private final MessageBuilder messages;

    public EagerExecutor(WorkerEnvironment env, MessageBuilder messages) {
        this.env = env;
        this.messages = messages;
    }

    public AsyncResult apply(String task, List<Object> args, Map<String, Object> kwargs, SendOptions options) {
        TaskDefinition def = env.registry().get(task);
        TaskMessage m = messages.build(task, args, kwargs, options);
        InMemoryResultBackend results = new InMemoryResultBackend(null, env.clock());
        TaskTracer tracer = new TaskTracer(env.codec(), env.interceptors());
        int retries = 0;
        while (true) {
            TaskRequest req = new TaskRequest(m.id(), task, m.args(), m.kwargs(), retries, m.eta(), m.expires(),
                    m.parentId(), m.rootId(), m.group(), "eager@" + env.config().hostname(), m.exchange(),
                    m.routingKey(), m.routingKey(), m.extraHeaders());
            TaskContext ctx = new TaskContext(req, def.options(),
                    (state, meta) -> results.store(ResultDocument.of(m.id(), state, meta)), () -> false);
            TaskRequest previous = CurrentTask.set(req);
            Outcome outcome;
            try {
                outcome = tracer.run(def, ctx);
            } finally {
                CurrentTask.set(previous);
            }
            if (outcome instanceof Outcome.Retry) {
                retries++;
                continue;
            }
            if (outcome instanceof Outcome.Success s) {
                results.store(new ResultDocument(m.id(), TaskState.SUCCESS, s.value(), null, List.of(),
                        Instant.now(env.clock()), m.parentId(), Map.of()));
            } else {
                Throwable error = outcome instanceof Outcome.Failure f ? f.error()
                        : outcome instanceof Outcome.Rejected rj ? rj.error()
                        : new UnsupportedOperationException("TaskContext.replace is not supported in eager mode: "
                                + "send the replacement yourself when task_always_eager is on");
                if (env.config().eagerPropagates()) {
                    if (error instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new CeleriacException("task " + task + " failed: " + error, error);
                }
                results.store(new ResultDocument(m.id(), TaskState.FAILURE, TaskTracer.exceptionResult(error),
                        TaskTracer.traceback(error), List.of(), Instant.now(env.clock()), m.parentId(), Map.of()));
            }
            return new AsyncResult(m.id(), results, null, env.codec());
        }
    }
}
