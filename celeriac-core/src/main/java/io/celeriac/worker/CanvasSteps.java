package io.celeriac.worker;

import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.canvas.CanvasPlanner;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.backend.ResultCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.Canvas;
import io.celeriac.task.Chain;
import io.celeriac.task.Chord;
import io.celeriac.task.Group;
import io.celeriac.task.Signature;
import io.celeriac.backend.TaskState;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a finished task sends next in its workflow, read from its message as Celery's worker does
 * ({@code celery.app.trace} and the result backend's {@code mark_as_done} / {@code mark_as_failure}):
 * <ul>
 *   <li>on success, its callbacks ({@code link}) and the next chain step, each with the result as first argument
 *   unless immutable;</li>
 *   <li>on failure, its errbacks with the task id, and a FAILURE for every remaining chain step, so a caller waiting
 *   on the chain's last result learns of it;</li>
 *   <li>as a chord part (success, failure or revoked), its record in the backend's chord count, and when it is the
 *   last, the chord body with every part's result in group order, or the body's FAILURE ({@code ChordError}).</li>
 * </ul>
 * Nothing is sent here: the messages and documents ride in the completer's batch, published before the task's result
 * is stored and its message acked, so a crash repeats a step rather than losing it. Only the chord join runs here, on
 * the completer thread, after the part's result is stored.
 */
final class CanvasSteps {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    /** Messages and documents a finished task leaves besides its own result; chord sizes are written first. */
    record FollowUps(Map<String, Integer> chordSizes, List<OutboundMessage> messages, List<ResultDocument> documents,
                     List<Object> children) {
        static final FollowUps NONE = new FollowUps(Map.of(), List.of(), List.of(), List.of());

        boolean isEmpty() {
            return chordSizes.isEmpty() && messages.isEmpty() && documents.isEmpty();
        }
    }

    /** A finished chord part to count once its result is stored. */
    record ChordPart(String groupId, String taskId, @Nullable Integer groupIndex, String state, @Nullable Object result,
                     Map<String, Object> body, String rootId, int priority) {
    }

    private final CanvasPlanner planner;
    private final ResultBackend backend;
    private final Broker broker;
    private final MessageCodec codec;
    private final Clock clock;

    CanvasSteps(CanvasPlanner.MessageFactory messages, ResultBackend backend, Broker broker, MessageCodec codec,
                Clock clock) {
        this.planner = new CanvasPlanner(messages);
        this.backend = backend;
        this.broker = broker;
        this.codec = codec;
        this.clock = clock;
    }

    /**
     * Why this worker cannot honour the message's workflow fields, or null if it can. Checked on receipt, so such a
     * message goes to the dead-letter queue instead of running and silently dropping what should follow it.
     */
    @Nullable String unhonourable(TaskMessage m) {
        try {
            parseAll(m.callbacks(), "callbacks");
            parseAll(m.errbacks(), "errbacks");
            parseAll(m.chain(), "chain");
            if (m.chord() != null) {
                Canvas.fromMap(m.chord());
                if (m.group() == null) {
                    return "refused: the message has a chord body but no group header, so its chord can never be "
                            + "counted";
                }
                if (backend.chords().isEmpty()) {
                    return "refused: this task is part of a chord, and the result backend ("
                            + backend.getClass().getSimpleName() + ") cannot count chord parts";
                }
            }
            return null;
        } catch (IllegalArgumentException e) {
            return "refused: its workflow fields cannot be honoured: " + e.getMessage();
        }
    }

    private static void parseAll(@Nullable List<Object> sigs, String field) {
        if (sigs == null) {
            return;
        }
        for (int i = 0; i < sigs.size(); i++) {
            try {
                canvas(sigs.get(i));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + "[" + i + "]: " + e.getMessage(), e);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Canvas canvas(Object o) {
        if (!(o instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("not a signature: " + o);
        }
        return Canvas.fromMap((Map<String, Object>) map);
    }

    private static String rootOf(TaskMessage m) {
        return m.rootId() == null ? m.id() : m.rootId();
    }

    /** Callbacks and the next chain step, each given {@code value} (celery.app.trace's success branch). */
    FollowUps onSuccess(TaskMessage m, @Nullable Object value) {
        if (m.callbacks() == null && (m.chain() == null || m.chain().isEmpty())) {
            return FollowUps.NONE;
        }
        Object json = codec.toJsonValue(value);
        // Not List.of: a task that returns nothing passes None (null) on, as Celery's does.
        CanvasPlanner.Context ctx = new CanvasPlanner.Context(Collections.singletonList(json), m.id(), rootOf(m),
                m.priority());
        Map<String, Integer> sizes = new LinkedHashMap<>();
        List<TaskMessage> out = new ArrayList<>();
        List<Object> children = new ArrayList<>();
        if (m.callbacks() != null && !m.callbacks().isEmpty()) {
            // Celery: several plain callbacks go out as one group; a callback that is a group goes on its own.
            List<Canvas> plain = new ArrayList<>();
            for (Object o : m.callbacks()) {
                Canvas c = canvas(o);
                if (c instanceof Group) {
                    children.add(add(planner.plan(c, ctx), sizes, out));
                } else {
                    plain.add(c);
                }
            }
            if (plain.size() == 1 && m.callbacks().size() == 1) {
                children.add(add(planner.plan(plain.get(0), ctx), sizes, out));
            } else if (!plain.isEmpty()) {
                children.add(add(planner.plan(Canvas.group(plain), ctx), sizes, out));
            }
        }
        if (m.chain() != null && !m.chain().isEmpty()) {
            List<Object> rest = new ArrayList<>(m.chain());
            Canvas next = canvas(rest.remove(rest.size() - 1));
            CanvasPlanner.Dispatch d = planner.plan(withChain(next, rest), ctx);
            add(d, sizes, out);
            // Celery's child is the step it sent, not the chain's end.
            CanvasPlanner.Planned first = d.result();
            while (first instanceof CanvasPlanner.One o && o.parent() != null) {
                first = o.parent();
            }
            children.add(CanvasPlanner.tuple(first));
        }
        return new FollowUps(sizes, outbound(out), List.of(), children);
    }

    /**
     * A task's replacement ({@code TaskContext.replace}), as Celery's {@code Task.replace}: a group becomes a chord
     * with {@code celery.accumulate} as body (so the result is the list of its results); the task's callbacks and
     * errbacks are linked to the replacement; it takes the task's id, the rest of its chain and its chord part.
     */
    FollowUps replacement(TaskMessage m, Canvas replacement) {
        Canvas sig = replacement;
        if (sig instanceof Chain ch && ch.steps().isEmpty()) {
            throw new IllegalArgumentException("Cannot replace with an empty chain");
        }
        if (sig instanceof Group g) {
            sig = Canvas.chord(g, new Signature("celery.accumulate", List.of(), Map.of("index", 0),
                    io.celeriac.task.SendOptions.none(), null));
        }
        for (Object cb : m.callbacks() == null ? List.of() : m.callbacks()) {
            sig = sig.link(canvas(cb));
        }
        for (Object eb : m.errbacks() == null ? List.of() : m.errbacks()) {
            sig = sig.linkError(canvas(eb));
        }
        Map<String, Integer> sizes = new LinkedHashMap<>();
        List<TaskMessage> out = new ArrayList<>();
        add(planner.planReplacement(sig, m, new CanvasPlanner.Context(List.of(), m.id(), rootOf(m), m.priority())),
                sizes, out);
        return followUps(sizes, out, List.of());
    }

    /**
     * Errbacks, given the task id, and a FAILURE for each remaining chain step (the backend's
     * {@code mark_as_failure}). A chain step that was a chord part is counted as failed too.
     */
    FollowUps onFailure(TaskMessage m, ResultDocument failure, List<ChordPart> chainParts) {
        List<ResultDocument> docs = new ArrayList<>();
        if (m.chain() != null) {
            for (Object o : m.chain()) {
                if (!(o instanceof Map<?, ?> step) || !(step.get("options") instanceof Map<?, ?> opts)) {
                    continue;
                }
                Object id = opts.get("task_id");
                if (id != null) {
                    // No parent id, as Celery's mark_as_failure stores none: the failed task is the parent of
                    // the next step only, not of those after it.
                    docs.add(new ResultDocument(id.toString(), failure.status(), failure.result(),
                            failure.traceback(), List.of(), clock.instant(), null, Map.of()));
                }
                if (id != null && opts.get("chord") instanceof Map<?, ?> body && opts.get("group_id") != null) {
                    chainParts.add(new ChordPart(opts.get("group_id").toString(), id.toString(),
                            opts.get("group_index") instanceof Number n ? n.intValue() : null, failure.status(),
                            failure.result(), cast(body), rootOf(m), m.priority()));
                }
            }
        }
        Map<String, Integer> sizes = new LinkedHashMap<>();
        List<TaskMessage> out = new ArrayList<>();
        if (m.errbacks() != null && !m.errbacks().isEmpty()) {
            List<Canvas> errbacks = new ArrayList<>();
            for (Object o : m.errbacks()) {
                errbacks.add(canvas(o));
            }
            // Celery: errbacks go out as a group, given the failed task's id.
            add(planner.plan(Canvas.group(errbacks), new CanvasPlanner.Context(List.of(m.id()), m.id(), rootOf(m),
                    null)), sizes, out);
        }
        return followUps(sizes, out, docs);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    /** The chord part this message's task is, or null if it is none. */
    @Nullable ChordPart chordPart(TaskMessage m, String state, @Nullable Object result) {
        if (m.chord() == null || m.group() == null) {
            return null;
        }
        return new ChordPart(m.group(), m.id(), m.groupIndex(), state, codec.toJsonValue(result), m.chord(),
                rootOf(m), m.priority());
    }

    /**
     * Counts a stored part; if it completed the chord, sends the body with the parts' results in group order, or
     * stores the body's FAILURE and sends its errbacks if a part failed, then deletes the chord's records. Safe to
     * repeat: a part counts once; a repeat after the chord completed may send the body again (with its fixed id).
     */
    void join(ChordPart p) {
        ChordCounter counter = backend.chords().orElseThrow(() -> new IllegalStateException("the result backend "
                + backend.getClass().getSimpleName() + " cannot count chord parts"));
        Optional<List<ChordCounter.Part>> done = counter.partDone(p.groupId(), p.taskId(), p.groupIndex(), p.state(),
                p.result());
        if (done.isEmpty()) {
            return;
        }
        Canvas body = Canvas.fromMap(p.body());
        ChordCounter.Part failed = done.get().stream()
                .filter(x -> TaskState.FAILURE.equals(x.state()) || TaskState.REVOKED.equals(x.state()))
                .findFirst().orElse(null);
        if (failed != null) {
            String why = "Dependency " + failed.taskId() + " raised " + exceptionRepr(failed.result());
            log.error("Chord '{}' raised: ChordError('{}')", p.groupId(), why);
            String bodyId = lastTaskId(body);
            if (bodyId != null) {
                // No parent id: the body never ran, and Celery's chord_error_from_stack stores none.
                backend.store(List.of(new ResultDocument(bodyId, TaskState.FAILURE,
                        ResultCodec.exceptionResult("ChordError", "celery.exceptions", why),
                        // Celery stores the traceback of where it raised the ChordError; there is no Python frame
                        // here, so the text says only what was raised.
                        "celery.exceptions.ChordError: " + why + "\n", List.of(), clock.instant(), null, Map.of())));
            }
            List<Canvas> errbacks = body instanceof Signature s ? s.linkErrors() : List.of();
            if (!errbacks.isEmpty()) {
                send(planner.plan(Canvas.group(errbacks), new CanvasPlanner.Context(
                        List.of(bodyId == null ? p.groupId() : bodyId), p.taskId(), p.rootId(), null)));
            }
        } else {
            List<Object> values = new ArrayList<>(done.get().size());
            for (ChordCounter.Part part : done.get()) {
                values.add(part.result());
            }
            send(planner.plan(body, new CanvasPlanner.Context(List.of(values), p.taskId(), p.rootId(),
                    p.priority())));
        }
        counter.forget(p.groupId());
    }

    private void send(CanvasPlanner.Dispatch d) {
        publish(List.of(new FollowUps(d.chordSizes(), outbound(d.messages()), List.of(), List.of())));
    }

    /** Writes follow-ups' chord sizes, then publishes their messages (completer thread; retried on outage). */
    void publish(List<FollowUps> all) {
        List<OutboundMessage> out = new ArrayList<>();
        for (FollowUps f : all) {
            if (!f.chordSizes().isEmpty()) {
                ChordCounter counter = backend.chords().orElseThrow();
                f.chordSizes().forEach(counter::setSize);
            }
            out.addAll(f.messages());
        }
        if (!out.isEmpty()) {
            broker.publish(out);
        }
    }

    private FollowUps followUps(Map<String, Integer> sizes, List<TaskMessage> out, List<ResultDocument> docs) {
        return new FollowUps(sizes, outbound(out), docs, List.of());
    }

    private List<OutboundMessage> outbound(List<TaskMessage> messages) {
        List<OutboundMessage> out = new ArrayList<>(messages.size());
        for (TaskMessage t : messages) {
            out.add(new OutboundMessage(t.routingKey(), t.priority(), codec.encode(t), t.id(), t.eta()));
        }
        return out;
    }

    /** Adds {@code d}'s writes; returns its result tuple (a child of the task that sends it). */
    private static List<Object> add(CanvasPlanner.Dispatch d, Map<String, Integer> sizes, List<TaskMessage> out) {
        sizes.putAll(d.chordSizes());
        out.addAll(d.messages());
        return CanvasPlanner.tuple(d.result());
    }

    /** {@code next} continued by the reversed steps {@code rest}, as a signature whose options carry them. */
    private static Canvas withChain(Canvas next, List<Object> rest) {
        if (rest.isEmpty()) {
            return next;
        }
        List<Canvas> steps = new ArrayList<>();
        steps.add(next);
        for (int i = rest.size() - 1; i >= 0; i--) {
            steps.add(canvas(rest.get(i)));
        }
        return Canvas.chain(steps);
    }

    private static @Nullable String lastTaskId(Canvas c) {
        if (c instanceof Signature s) {
            return s.options().taskId().orElse(null);
        }
        if (c instanceof Chain ch) {
            return lastTaskId(ch.steps().get(ch.steps().size() - 1));
        }
        if (c instanceof Chord cd) {
            return lastTaskId(cd.body());
        }
        return ((Group) c).options().taskId().orElse(null);
    }

    /** Python's repr of a stored exception, as Celery's ChordError quotes it: {@code ValueError('boom')}. */
    static String exceptionRepr(@Nullable Object result) {
        if (result instanceof Map<?, ?> m && m.get("exc_type") != null) {
            Object msg = m.get("exc_message");
            List<?> args = msg instanceof List<?> l ? l : msg == null ? List.of() : List.of(msg);
            StringBuilder sb = new StringBuilder(m.get("exc_type").toString()).append('(');
            for (int i = 0; i < args.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(PythonRepr.value(args.get(i)));
            }
            return sb.append(')').toString();
        }
        return PythonRepr.value(result);
    }
}
