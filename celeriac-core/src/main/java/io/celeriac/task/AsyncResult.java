package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.backend.TaskState;
import io.celeriac.protocol.MessageCodec;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A handle on a sent task's state and result, Celery's {@code AsyncResult}. Create one for any id with
 * {@code app.result(id)}; the task may have been sent by another process or by Python. The typed send forms return
 * a {@link TypedAsyncResult}, whose {@code get} returns the task's own result type.
 */
public class AsyncResult {
    /** Sends a revoke for a task id; given by the app. */
    @FunctionalInterface
    public interface Revoker {
        void revoke(String taskId, boolean terminate);
    }

    private final String id;
    private final ResultBackend backend;
    private final @Nullable Revoker revoker;
    private final MessageCodec codec;
    private final @Nullable Object parent;

    public AsyncResult(String id, ResultBackend backend, @Nullable Revoker revoker, MessageCodec codec) {
        this(id, backend, revoker, codec, null);
    }

    /** @param parent the previous step's result (an {@link AsyncResult} or a {@link GroupResult}), or null */
    public AsyncResult(String id, ResultBackend backend, @Nullable Revoker revoker, MessageCodec codec,
                       @Nullable Object parent) {
        this.id = Objects.requireNonNull(id, "id");
        this.backend = Objects.requireNonNull(backend, "backend");
        this.revoker = revoker;
        this.codec = codec;
        if (parent != null && !(parent instanceof AsyncResult) && !(parent instanceof GroupResult)) {
            throw new IllegalArgumentException("a parent is an AsyncResult or a GroupResult: " + parent);
        }
        this.parent = parent;
    }

    /** A handle on the same task as {@code other}, with the same parent: for {@link TypedAsyncResult}. */
    AsyncResult(AsyncResult other) {
        this(other.id, other.backend, other.revoker, other.codec, other.parent);
    }

    /**
     * The result of the step before this one in the workflow that sent it (a chain's previous step, or a chord's
     * header as a {@link GroupResult}), as known where the workflow was sent; empty otherwise (Celery's
     * {@code parent}).
     */
    public Optional<Object> parent() {
        return Optional.ofNullable(parent);
    }

    /**
     * What this task sent while it ran, then its callbacks and next chain step, as stored with its result (Celery's
     * {@code children}): {@link AsyncResult}s and {@link GroupResult}s. Empty while not ready.
     */
    public java.util.List<Object> children() {
        java.util.List<Object> out = new java.util.ArrayList<>();
        for (Object t : document().map(ResultDocument::children).orElse(java.util.List.of())) {
            Object r = fromTuple(t);
            if (r != null) {
                out.add(r);
            }
        }
        return out;
    }

    /** A result handle from Celery's tuple form {@code [[id, parent], null | [member tuples]]}. */
    private @Nullable Object fromTuple(@Nullable Object t) {
        if (!(t instanceof java.util.List<?> l) || l.size() < 2 || !(l.get(0) instanceof java.util.List<?> head)
                || head.isEmpty() || head.get(0) == null) {
            return null;
        }
        String childId = head.get(0).toString();
        if (l.get(1) instanceof java.util.List<?> members) {
            java.util.List<AsyncResult> rs = new java.util.ArrayList<>();
            for (Object m : members) {
                if (fromTuple(m) instanceof AsyncResult a) {
                    rs.add(a);
                }
            }
            return new GroupResult(childId, rs);
        }
        Object p = head.size() > 1 && head.get(1) != null ? fromTuple(head.get(1)) : null;
        return new AsyncResult(childId, backend, revoker, codec, p);
    }

    /** This handle with {@code parent} as the previous step's result. */
    public AsyncResult withParent(@Nullable Object newParent) {
        return new AsyncResult(id, backend, revoker, codec, newParent);
    }

    public String id() {
        return id;
    }

    /** The stored document, or empty while PENDING. */
    public Optional<ResultDocument> document() {
        return backend.get(id);
    }

    /** PENDING, RECEIVED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED, or a custom state. */
    public String state() {
        return document().map(ResultDocument::status).orElse(TaskState.PENDING);
    }

    public boolean ready() {
        return TaskState.isReady(state());
    }

    public boolean successful() {
        return TaskState.SUCCESS.equals(state());
    }

    public boolean failed() {
        return TaskState.FAILURE.equals(state());
    }

    /**
     * The stored result field as JSON values: the return value on SUCCESS, the exception map on FAILURE, progress
     * meta for custom states; null while PENDING.
     */
    public @Nullable Object result() {
        return document().map(ResultDocument::result).orElse(null);
    }

    /** Traceback text of a failure, else null. */
    public @Nullable String traceback() {
        return document().map(ResultDocument::traceback).orElse(null);
    }

    /**
     * Waits for the task to finish and returns its result as JSON values (numbers, strings, lists, maps).
     *
     * @throws TaskFailedException if the task failed (type, message and traceback of the remote exception)
     * @throws TaskRevokedException if it was revoked or expired
     * @throws ResultTimeoutException if it did not finish in time
     */
    public @Nullable Object get(Duration timeout) {
        ResultDocument doc;
        try {
            doc = backend.await(id, timeout).orElse(null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CeleriacException("interrupted while waiting for task " + id, e);
        }
        if (doc == null || !doc.ready()) {
            throw new ResultTimeoutException(id, timeout, doc == null ? TaskState.PENDING : doc.status());
        }
        return switch (doc.status()) {
            case TaskState.SUCCESS -> doc.result();
            case TaskState.REVOKED -> throw new TaskRevokedException(id, doc.excMessage());
            default -> {
                Object module = doc.result() instanceof Map<?, ?> m ? m.get("exc_module") : null;
                throw new TaskFailedException(id, doc.excType(), module == null ? null : module.toString(),
                        doc.excMessage(), doc.traceback());
            }
        };
    }

    /** As {@link #get(Duration)}, converting the result to {@code type} (a record, POJO, List, ...). */
    public <T> @Nullable T get(Duration timeout, Class<T> type) {
        Object value = get(timeout);
        return codec.fromJsonValue(value, type);
    }

    /**
     * This handle with {@link #get(Duration)} converting the result to {@code type} (a record, a POJO, a boxed
     * primitive...): for results the compiler could not type, such as a canvas's or those of {@code app.result(id)}.
     */
    public <T> TypedAsyncResult<T> as(Class<T> type) {
        return new TypedAsyncResult<>(this, type);
    }

    MessageCodec codec() {
        return codec;
    }

    /** Deletes the stored result. */
    public void forget() {
        backend.forget(id);
    }

    /** Asks every worker not to run this task (Celery's {@code revoke}). */
    public void revoke() {
        revoke(false);
    }

    /** With {@code terminate}, a worker running it interrupts the task's thread and reports it REVOKED. */
    public void revoke(boolean terminate) {
        if (revoker == null) {
            throw new CeleriacException("this result was created without a broker; revoke through the app");
        }
        revoker.revoke(id, terminate);
    }

    @Override
    public String toString() {
        return id;
    }
}
