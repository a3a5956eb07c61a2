package io.celeriac.cli;

import io.celeriac.backend.ResultDocument;
import org.jspecify.annotations.Nullable;

import java.io.PrintStream;
import java.util.Map;

/**
 * What {@code celeriac call --wait} and {@code celeriac result} print for a task that finished without succeeding
 * (FAILURE, REVOKED): its state and the remote exception as the last line of a Python traceback names it
 * ({@code FAILURE ValueError: bad input} for Python's built-in exceptions, with the module otherwise:
 * {@code FAILURE java.lang.IllegalStateException: upstream down}), then the traceback the worker stored (Python's,
 * or a Celeriac worker's Java stack trace). The failure is the task's, reported as data: the command's own stack
 * trace never shows, and the exit status is 1.
 */
final class FailureReport {
    /** The exit status of a command whose task did not succeed, or was not ready in time. */
    static final int TASK_NOT_SUCCESSFUL = 1;

    private FailureReport() {
    }

    /** Prints the report of {@code doc} (a ready document other than SUCCESS) to {@code out}. */
    static void print(ResultDocument doc, PrintStream out) {
        out.println(doc.status() + " " + exception(doc));
        String traceback = doc.traceback();
        if (traceback != null && !traceback.isBlank()) {
            out.println(traceback.stripTrailing());
        }
    }

    /**
     * The remote exception as {@code Type: message}: {@code ValueError: bad input} for Python's builtins, the
     * qualified name otherwise, as Python's traceback prints it; for a result that is no exception, its JSON-ish
     * text.
     */
    static String exception(ResultDocument doc) {
        String type = doc.excType();
        if (type == null) {
            return String.valueOf(doc.result());
        }
        String module = doc.result() instanceof Map<?, ?> m && m.get("exc_module") != null
                ? m.get("exc_module").toString() : null;
        String message = doc.excMessage();
        return qualified(module, type) + (message == null || message.isEmpty() ? "" : ": " + message);
    }

    private static String qualified(@Nullable String module, String type) {
        if (module == null || module.isEmpty() || module.equals("builtins") || module.equals("exceptions")) {
            return type;
        }
        return module + "." + type;
    }
}
