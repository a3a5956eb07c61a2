package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.backend.ResultDocument;
import io.celeriac.task.AsyncResult;
import io.celeriac.backend.TaskState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code celeriac result <id> [--wait]}: print a task's state and result, like {@code celery result}; a task that
 * failed or was revoked is printed by {@link FailureReport}, with exit status 1.
 */
@Command(name = "result", mixinStandardHelpOptions = true, description = "Show a task's state and result.")
final class ResultCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", description = "Task id.")
    String id;

    @Option(names = "--wait", description = "Wait until the task is ready (up to --timeout).")
    boolean waitForIt;

    @Option(names = "--timeout", defaultValue = "60", description = "Seconds to wait with --wait.")
    double timeout;

    @Option(names = "--traceback", description = "Also print the traceback of a task waiting to retry (a failure "
            + "always shows its traceback).")
    boolean traceback;

    @Override
    public Integer call() throws Exception {
        try (Celeriac app = connection.app()) {
            AsyncResult r = app.result(id);
            ResultDocument doc;
            if (waitForIt) {
                try (Progress p = Progress.show("waiting for " + id, r::state)) {
                    doc = app.backend().await(id, Duration.ofMillis(Math.round(timeout * 1000))).orElse(null);
                }
            } else {
                doc = r.document().orElse(null);
            }
            if (doc == null) {
                System.out.println(TaskState.PENDING);
                return waitForIt ? FailureReport.TASK_NOT_SUCCESSFUL : 0;
            }
            if (doc.ready() && !TaskState.SUCCESS.equals(doc.status())) {
                FailureReport.print(doc, System.out); // the traceback with it, --traceback or not
                return FailureReport.TASK_NOT_SUCCESSFUL;
            }
            System.out.println(doc.status() + " " + app.codec().writeJson(doc.result()));
            if (traceback && doc.traceback() != null) {
                System.out.println(doc.traceback().stripTrailing()); // a retry's exception
            }
            return waitForIt && !doc.ready() ? FailureReport.TASK_NOT_SUCCESSFUL : 0;
        }
    }
}
