package io.celeriac;

import io.celeriac.backend.ResultDocument;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.Chain;
import io.celeriac.task.Chord;
import io.celeriac.task.Group;
import io.celeriac.task.GroupResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.backend.TaskState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Runs a canvas in the calling thread ({@code task_always_eager}), as Celery's {@code apply} does: chain steps in
 * order, each with the previous result; group members one by one; a chord's body with the header's results.
 * Callbacks run after a success and errbacks (with the task id) after a failure. A failed step stops its chain.
 */
final class EagerCanvas {
    /** The app's eager send of one task. */
    @FunctionalInterface
    interface Runner {
        AsyncResult apply(String task, List<?> args, Map<String, ?> kwargs, SendOptions options);
    }

    private final Runner runner;

    EagerCanvas(Runner runner) {
        this.runner = runner;
    }

    /** Runs {@code c}; returns its result handle, an {@link AsyncResult} (with parents) or a {@link GroupResult}. */
    Object run(Canvas c) {
        return run(c, List.of()).planned;
    }

    /** @param planned the result handle: an AsyncResult or a GroupResult */
    private record Ran(Object planned, boolean ok, @Nullable Object value) {
    }

    private Ran run(Canvas c, List<Object> partial) {
        if (c instanceof Signature s) {
            List<Object> args = new ArrayList<>();
            if (!s.immutable()) {
                args.addAll(partial);
            }
            args.addAll(s.args());
            AsyncResult r = runner.apply(s.task(), args, s.kwargs(), s.options());
            ResultDocument doc = r.document().orElse(null);
            boolean ok = doc == null || TaskState.SUCCESS.equals(doc.status());
            Object value = doc == null ? null : doc.result();
            for (Canvas next : ok ? s.links() : s.linkErrors()) {
                // A task may return nothing (Python's None): the callback then gets None as its argument.
                run(next, ok ? java.util.Collections.singletonList(value) : List.of(r.id()));
            }
            return new Ran(r, ok, value);
        }
        if (c instanceof Chain ch) {
            Ran last = null;
            for (Canvas step : ch.steps()) {
                Ran r = run(step, last == null ? partial : List.of(last.value));
                last = new Ran(withParent(r.planned, last == null ? null : last.planned), r.ok, r.value);
                if (!r.ok) {
                    break;
                }
            }
            return last;
        }
        if (c instanceof Group g) {
            String gid = g.options().taskId().orElseGet(() -> UUID.randomUUID().toString());
            List<AsyncResult> members = new ArrayList<>();
            List<Object> values = new ArrayList<>();
            boolean ok = true;
            for (Canvas m : g.members()) {
                Ran r = run(m, partial);
                if (r.planned instanceof GroupResult inner) {
                    members.addAll(inner.results());
                } else {
                    members.add((AsyncResult) r.planned);
                }
                values.add(r.value);
                ok &= r.ok;
            }
            return new Ran(new GroupResult(gid, members), ok, values);
        }
        Chord cd = (Chord) c;
        Ran header = run(cd.header(), partial);
        if (!header.ok) {
            return new Ran(header.planned, false, null);
        }
        Ran body = run(cd.body(), List.of(header.value));
        return new Ran(withParent(body.planned, header.planned), body.ok, body.value);
    }

    /** {@code p} with {@code parent} as the parent of its first step (a group's parent is not tracked). */
    private static Object withParent(Object p, @Nullable Object parent) {
        if (parent == null || !(p instanceof AsyncResult r)) {
            return p;
        }
        return r.withParent(r.parent().map(pp -> withParent(pp, parent)).orElse(parent));
    }
}
