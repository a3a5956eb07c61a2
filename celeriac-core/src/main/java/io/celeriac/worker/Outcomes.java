package io.celeriac.worker;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.backend.ResultCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.protocol.UniqueTask;
import io.celeriac.task.RetryException;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskRequest;
import io.celeriac.backend.TaskState;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Turns what happened to a request into the writes it leaves (retry message, result document, ack or dead letter),
 * hands them to the {@link Completer}, logs the outcome as Celery does and tells the listeners. Every request's
 * last write goes through here exactly once, which is what gives its prefetch permit back (or, acked early, its
 * early ack did).
 */
final class Outcomes {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");
    private static final Logger trace = LoggerFactory.getLogger("celeriac.app.trace");

    private final CeleriacConfig config;
    private final MessageCodec codec;
    private final Clock clock;
    private final Completer completer;
    private final List<WorkerListener> listeners;
    private final CanvasSteps canvas;

    Outcomes(CeleriacConfig config, MessageCodec codec, Clock clock, Completer completer,
             List<WorkerListener> listeners, CanvasSteps canvas) {
        this.canvas = canvas;
        this.config = config;
        this.codec = codec;
        this.clock = clock;
        this.completer = completer;
        this.listeners = listeners;
    }

    /**
     * The ack sent as the task starts (acks early): it waits for no result, and once it is written the message leaves
     * the prefetch window, as Celery's prefetch counts only unacked messages.
     */
    void ackNow(Request r) {
        r.ackedEarly = true;
        completer.ackEarly(r.delivery);
    }

    /** A state that is not the last (STARTED, progress): written, but it settles nothing. */
    void progress(Request r, String state, @Nullable Object meta) {
        r.wroteProgress = true;
        completer.add(null, document(r, state, meta, null), null);
    }

    /**
     * Queues the request's last write (result, then ack or dead letter); its prefetch permit comes back once that is
     * written, unless its early ack gave it back already. Exactly one per request.
     */
    void finishItem(Request r, @Nullable OutboundMessage publish, @Nullable ResultDocument result,
                    @Nullable Delivery ack, @Nullable Delivery deadLetter, @Nullable String reason) {
        finishItem(r, publish, result, ack, deadLetter, reason, CanvasSteps.FollowUps.NONE, List.of());
    }

    private void finishItem(Request r, @Nullable OutboundMessage publish, @Nullable ResultDocument result,
                            @Nullable Delivery ack, @Nullable Delivery deadLetter, @Nullable String reason,
                            CanvasSteps.FollowUps followUps, List<CanvasSteps.ChordPart> chordParts) {
        completer.finish(r.delivery, r.ackedEarly, publish, result, ack, deadLetter, reason,
                UniqueTask.keyOf(r.message), followUps, chordParts, !r.wroteProgress);
        r.finished = true;
    }

    /**
     * A failed task's last write, with its workflow's consequences: errbacks, FAILURE for the rest of its chain,
     * and its chord part (and the chain's, if a later step was one) counted as failed.
     */
    private void finishFailed(Request r, ResultDocument failure, @Nullable Delivery ack, @Nullable Delivery deadLetter,
                              @Nullable String reason) {
        List<CanvasSteps.ChordPart> parts = new ArrayList<>();
        CanvasSteps.FollowUps followUps;
        try {
            followUps = canvas.onFailure(r.message, failure, parts);
            CanvasSteps.ChordPart own = canvas.chordPart(r.message, TaskState.FAILURE, failure.result());
            if (own != null) {
                parts.add(own);
            }
        } catch (RuntimeException e) {
            log.error("Could not prepare the errbacks of {}: {}", r.label(), e.toString());
            followUps = CanvasSteps.FollowUps.NONE;
        }
        finishItem(r, null, failure, ack, deadLetter, reason, followUps, parts);
    }

    /** A fault of the worker itself while running the request: failed, and dead-lettered (also when acked early). */
    void internalError(Request r, Throwable t) {
        finishFailed(r, failureDocument(r, t), null, r.delivery, "refused: the worker failed while running it: " + t);
    }

    void finish(Request r, Outcome outcome, Duration runtime) {
        Delivery ack = r.acksLate ? r.delivery : null;
        if (outcome instanceof Outcome.Success s) {
            if (trace.isInfoEnabled()) {
                // Guarded: formatting the runtime and the repr of the value cost more than a no-op task itself.
                trace.info("Task {} succeeded in {}s: {}", r.label(), String.format("%.6f", runtime.toNanos() / 1e9),
                        abbreviate(PythonRepr.value(s.value())));
            }
            CanvasSteps.FollowUps followUps;
            CanvasSteps.ChordPart part;
            try {
                followUps = canvas.onSuccess(r.message, s.value());
                part = canvas.chordPart(r.message, TaskState.SUCCESS, s.value());
            } catch (RuntimeException e) {
                // Its workflow cannot go on (a value that cannot travel as JSON, say): the task is failed for it.
                internalError(r, e);
                return;
            }
            // Celery's children: what the task sent, then its callbacks and next chain step.
            List<Object> children = new ArrayList<>(r.children);
            children.addAll(followUps.children());
            finishItem(r, null, r.ignoreResult ? null : new ResultDocument(r.message.id(), TaskState.SUCCESS,
                    s.value(), null, children, clock.instant(), r.message.parentId(), groupMeta(r.message),
                    r.message.replyTo()), ack, null, null,
                    followUps, part == null ? List.of() : List.of(part));
            for (WorkerListener l : listeners) {
                l.taskSucceeded(r.request, s.value(), runtime);
            }
        } else if (outcome instanceof Outcome.Retry retry) {
            retryTask(r, retry, ack);
        } else if (outcome instanceof Outcome.Replaced replaced) {
            CanvasSteps.FollowUps followUps;
            try {
                followUps = canvas.replacement(r.message, replaced.replacement());
            } catch (RuntimeException e) {
                internalError(r, e);
                return;
            }
            trace.info("Task {} replaced by {}", r.label(), replaced.replacement());
            // Celery's Ignore: no state is stored for the task itself; its id now belongs to the replacement.
            finishItem(r, null, null, ack, null, null, followUps, List.of());
        } else if (outcome instanceof Outcome.Failure f) {
            Throwable e = f.error();
            trace.error("Task {} raised unexpected: {}", r.label(), pythonStyle(e), e);
            if (ack != null && !config.acksOnFailureOrTimeout()) {
                // Celery's Request.on_failure: acks late without acks_on_failure_or_timeout rejects the message
                // without requeue (reject(requeue=False)), so it does not run again in a loop. Our reject without
                // requeue is the dead-letter queue, where it can be looked at and requeued after a fix.
                String reason = "Task " + r.label() + " failed and task_acks_on_failure_or_timeout is off: rejected "
                        + "without requeue: " + pythonStyle(e);
                finishFailed(r, failureDocument(r, e), null, r.delivery, reason);
                for (WorkerListener l : listeners) {
                    l.taskFailed(r.request, e, runtime);
                }
                logRejected(r.delivery, r.request, reason);
                return;
            }
            finishFailed(r, failureDocument(r, e), ack, null, null);
            for (WorkerListener l : listeners) {
                l.taskFailed(r.request, e, runtime);
            }
        } else if (outcome instanceof Outcome.Rejected rejected) {
            Throwable e = rejected.error();
            // Already acked on start (acks early): the broker keeps a dead-letter record all the same.
            finishFailed(r, failureDocument(r, e), null, r.delivery, e.getMessage());
            logRejected(r.delivery, r.request, e.getMessage());
            for (WorkerListener l : listeners) {
                l.taskFailed(r.request, e, runtime);
            }
        }
    }

    private void retryTask(Request r, Outcome.Retry retry, @Nullable Delivery ack) {
        Instant eta = clock.instant().plus(retry.countdown());
        TaskMessage next = r.message.toBuilder()
                .retries(r.message.retries() + 1)
                .eta(eta)
                .deliveryTag(UUID.randomUUID().toString())
                .build();
        OutboundMessage out = new OutboundMessage(r.delivery.queue(), r.delivery.priority(), codec.encode(next),
                next.id(), eta);
        Throwable reason = retry.reason();
        String why = "Retry in " + RetryException.formatSeconds(retry.countdown())
                + (reason == null ? "" : ": " + pythonStyle(reason));
        trace.info("Task {} retry: {}", r.label(), why);
        ResultDocument doc = r.ignoreResult ? null : new ResultDocument(r.message.id(), TaskState.RETRY,
                reason == null ? ResultCodec.exceptionResult("Retry", "celery.exceptions", why)
                        : TaskTracer.exceptionResult(reason),
                reason == null ? null : TaskTracer.traceback(reason), List.of(), clock.instant(),
                r.message.parentId(), groupMeta(r.message), r.message.replyTo());
        // Published before the original is acked (Completer keeps that order): a crash in between runs it twice,
        // never zero times.
        finishItem(r, out, doc, ack, null, null);
        for (WorkerListener l : listeners) {
            l.taskRetried(r.request, reason, retry.countdown());
        }
    }

    /** Celery's {@code group_id} in the result of a group member or chord part ({@code _get_result_meta}). */
    private static Map<String, Object> groupMeta(TaskMessage m) {
        return m.group() == null ? Map.of() : Map.of("group_id", m.group());
    }

    private ResultDocument failureDocument(Request r, Throwable e) {
        return new ResultDocument(r.message.id(), TaskState.FAILURE, TaskTracer.exceptionResult(e),
                TaskTracer.traceback(e), List.of(), clock.instant(), r.message.parentId(), groupMeta(r.message),
                r.message.replyTo());
    }

    private ResultDocument document(Request r, String state, @Nullable Object result, @Nullable String traceback) {
        return new ResultDocument(r.message.id(), state, result, traceback, List.of(), clock.instant(),
                r.message.parentId(), groupMeta(r.message), r.message.replyTo());
    }

    /** A request that was revoked, expired or terminated before it could finish: stored as REVOKED. */
    void finishRevoked(Request r, boolean terminated, boolean expired, boolean ack) {
        finishRevoked(r.delivery, r.ackedEarly, r.message, r.request, r.definition, terminated, expired, ack);
        r.finished = true;
    }

    void finishRevoked(Delivery d, TaskMessage m, TaskRequest tr, @Nullable TaskDefinition def, boolean terminated,
                       boolean expired, boolean ack) {
        finishRevoked(d, false, m, tr, def, terminated, expired, ack);
    }

    private void finishRevoked(Delivery d, boolean permitGone, TaskMessage m, TaskRequest tr,
                               @Nullable TaskDefinition def, boolean terminated, boolean expired, boolean ack) {
        boolean ignore = def != null && def.options().ignoreResult().orElse(config.ignoreResult());
        ResultDocument doc = ignore ? null : new ResultDocument(tr.id(), TaskState.REVOKED,
                ResultCodec.exceptionResult("TaskRevokedError", "celery.exceptions",
                        expired ? "expired" : terminated ? "terminated" : "revoked"),
                null, List.of(), clock.instant(), tr.parentId(), groupMeta(m), m.replyTo());
        // Celery's mark_as_revoked: a revoked chord part counts, as failed, so its chord does not wait for ever.
        CanvasSteps.ChordPart part = canvas.chordPart(m, TaskState.REVOKED, doc != null ? doc.result()
                : ResultCodec.exceptionResult("TaskRevokedError", "celery.exceptions", "revoked"));
        completer.finish(d, permitGone, null, doc, ack ? d : null, null, null, UniqueTask.keyOf(m),
                CanvasSteps.FollowUps.NONE, part == null ? List.of() : List.of(part));
        for (WorkerListener l : listeners) {
            l.taskRevoked(tr, terminated, expired);
        }
    }

    void logRejected(Delivery d, @Nullable TaskRequest request, String reason) {
        log.error("Rejecting message from queue '{}'{}: {}. It was moved to the dead-letter queue.", d.queue(),
                request == null ? "" : " " + request.task() + "[" + request.id() + "]", reason);
        for (WorkerListener l : listeners) {
            l.taskRejected(d.queue(), request, reason);
        }
    }

    static String pythonStyle(Throwable e) {
        String msg = e.getMessage();
        return e.getClass().getSimpleName() + "(" + (msg == null ? "" : PythonRepr.value(msg)) + ")";
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 197) + "..." : s;
    }
}
