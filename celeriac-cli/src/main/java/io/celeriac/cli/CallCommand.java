package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.backend.ResultDocument;
import io.celeriac.backend.TaskState;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code celeriac call <task> --args '[1,2]'}: send a task by name, like {@code celery call}; with {@code --wait},
 * print its result as {@code celery result} would, or its failure ({@link FailureReport}) with exit status 1.
 */
@Command(name = "call", mixinStandardHelpOptions = true, description = "Send a task by name and print its id.")
final class CallCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", description = "Task name.")
    String task;

    @Option(names = {"-a", "--args"}, defaultValue = "[]", description = "Positional arguments as a JSON list.")
    String args;

    @Option(names = {"-k", "--kwargs"}, defaultValue = "{}", description = "Keyword arguments as a JSON object.")
    String kwargs;

    @Option(names = "--countdown", description = "Seconds to wait before running.")
    @Nullable Double countdown;

    @Option(names = "--expires", description = "Seconds after which the task is revoked if not started.")
    @Nullable Double expires;

    @Option(names = {"-Q", "--queue"}, description = "Queue to send to.")
    @Nullable String queue;

    @Option(names = "--priority", description = "0-9; on Redis lower is served first.")
    @Nullable Integer priority;

    @Option(names = "--task-id", description = "Use this id instead of a random one.")
    @Nullable String taskId;

    @Option(names = "--wait", description = "Wait this many seconds for the result and print it; a failure prints "
            + "the state, exception and remote traceback, and exits 1.")
    @Nullable Double wait;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() throws InterruptedException {
        try (Celeriac app = connection.app()) {
            Object a = app.codec().readJson(args);
            Object k = app.codec().readJson(kwargs);
            if (!(a instanceof List<?>) || !(k instanceof Map<?, ?>)) {
                System.err.println("--args must be a JSON list and --kwargs a JSON object");
                return 2;
            }
            SendOptions.Builder o = SendOptions.builder();
            if (countdown != null) {
                o.countdown(Duration.ofMillis(Math.round(countdown * 1000)));
            }
            if (expires != null) {
                o.expires(Duration.ofMillis(Math.round(expires * 1000)));
            }
            if (queue != null) {
                o.queue(queue);
            }
            if (priority != null) {
                o.priority(priority);
            }
            if (taskId != null) {
                o.taskId(taskId);
            }
            AsyncResult r = app.applyAsync(task, (List<Object>) a, (Map<String, Object>) k, o.build());
            System.out.println(r.id());
            if (wait == null) {
                return 0;
            }
            ResultDocument doc;
            try (Progress p = Progress.show("waiting for " + task, r::state)) {
                doc = app.backend().await(r.id(), Duration.ofMillis(Math.round(wait * 1000))).orElse(null);
            }
            if (doc == null || !doc.ready()) {
                // Not a failure of the task: it may still run. The state, then how to go on waiting.
                System.out.println(doc == null ? TaskState.PENDING : doc.status());
                String seconds = wait % 1 == 0 ? Long.toString(wait.longValue()) : wait.toString();
                System.err.println("celeriac call: no result within " + seconds + " s; the task may still finish: "
                        + "celeriac result " + r.id() + " --wait");
                return FailureReport.TASK_NOT_SUCCESSFUL;
            }
            if (!TaskState.SUCCESS.equals(doc.status())) {
                FailureReport.print(doc, System.out);
                return FailureReport.TASK_NOT_SUCCESSFUL;
            }
            System.out.println(app.codec().writeJson(doc.result()));
            return 0;
        }
    }
}
