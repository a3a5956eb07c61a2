package io.celeriac.sentry;

import io.celeriac.task.TaskRequest;
import io.celeriac.worker.Worker;
import io.celeriac.worker.WorkerListener;
import io.sentry.Sentry;
import io.sentry.SentryLevel;
import io.sentry.SentryOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reports task failures to Sentry: once per task, after its last retry (a task that retries and then succeeds is
 * never reported), with the task name, id, retries, worker and scrubbed arguments.
 *
 * <pre>{@code
 * app.worker().listener(SentryReporter.init("https://key@o1.ingest.sentry.io/42")).start();
 * }</pre>
 */
public final class SentryReporter implements WorkerListener {
    /** Keyword arguments whose names look like secrets are replaced, as Sentry's own scrubbing does. */
    private static final Pattern SECRET = Pattern.compile("(?i).*(pass|secret|token|api[_-]?key|auth|credential|"
            + "card|iban|ssn).*");
    private static final int MAX_VALUE = 200;

    private final boolean reportRetries;
    private volatile String hostname = "?";

    private SentryReporter(boolean reportRetries) {
        this.reportRetries = reportRetries;
    }

    /** Initialises the Sentry SDK with this DSN and returns the reporter. */
    public static SentryReporter init(String dsn) {
        return init(dsn, false);
    }

    /** @param reportRetries also report each retried failure (as warnings), not only the final one */
    public static SentryReporter init(String dsn, boolean reportRetries) {
        Sentry.init((SentryOptions o) -> {
            o.setDsn(dsn);
            o.setSendDefaultPii(false);
            o.setAttachServerName(true);
        });
        return new SentryReporter(reportRetries);
    }

    @Override
    public void workerReady(Worker worker) {
        this.hostname = worker.hostname();
    }

    @Override
    public void taskFailed(TaskRequest r, Throwable error, Duration runtime) {
        capture(r, error, SentryLevel.ERROR);
    }

    @Override
    public void taskRetried(TaskRequest r, @Nullable Throwable reason, Duration countdown) {
        if (reportRetries && reason != null) {
            capture(r, reason, SentryLevel.WARNING);
        }
    }

    private void capture(TaskRequest r, Throwable error, SentryLevel level) {
        Sentry.captureException(error, scope -> {
            scope.setLevel(level);
            scope.setTag("celery.task_name", r.task());
            scope.setTag("celery.task_id", r.id());
            scope.setTag("celery.worker", hostname);
            scope.setTag("celery.queue", String.valueOf(r.queue()));
            scope.setExtra("celery.retries", Integer.toString(r.retries()));
            scope.setExtra("celery.args", String.valueOf(scrub(r.args())));
            scope.setExtra("celery.kwargs", String.valueOf(scrubKwargs(r.kwargs())));
            scope.setTransaction(r.task());
            // One issue per task and exception type, whatever the arguments.
            scope.setFingerprint(List.of("celeriac", r.task(), error.getClass().getName()));
        });
    }

    static List<Object> scrub(List<Object> args) {
        List<Object> out = new ArrayList<>();
        for (Object a : args) {
            out.add(shorten(a));
        }
        return out;
    }

    static Map<String, Object> scrubKwargs(Map<String, Object> kwargs) {
        Map<String, Object> out = new LinkedHashMap<>();
        kwargs.forEach((k, v) -> out.put(k, SECRET.matcher(k.toLowerCase(Locale.ROOT)).matches() ? "[Filtered]"
                : shorten(v)));
        return out;
    }

    private static Object shorten(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), SECRET.matcher(String.valueOf(k)).matches()
                    ? "[Filtered]" : shorten(x)));
            return out;
        }
        String s = String.valueOf(v);
        return s.length() > MAX_VALUE ? s.substring(0, MAX_VALUE) + "..." : v;
    }

    /** Sends what is queued (at shutdown). */
    public void flush(Duration timeout) {
        Sentry.flush(timeout.toMillis());
    }
}
