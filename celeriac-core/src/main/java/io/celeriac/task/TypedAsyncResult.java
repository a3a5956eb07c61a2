package io.celeriac.task;

import io.celeriac.CeleriacException;

import java.lang.reflect.Type;
import java.time.Duration;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * An {@link AsyncResult} that knows what its task returns: {@link #get(Duration)} gives a {@code T}, rebuilt from the
 * stored JSON with the app's codec (records, POJOs, lists and maps of them, boxed primitives). The typed send forms
 * return one:
 *
 * <pre>{@code
 * TypedAsyncResult<Invoice> r = app.send(Invoices::total, order);
 * Invoice invoice = r.get(Duration.ofSeconds(10));
 * }</pre>
 *
 * <p>It is an {@code AsyncResult} in every other way (state, revoke, forget, parents), so it goes wherever one does.
 * {@link AsyncResult#as(Class)} makes one from any handle. Thread-safe, as {@code AsyncResult}.
 *
 * @param <T> the task's result type; {@code Void} for a task that returns nothing
 */
public final class TypedAsyncResult<T extends @Nullable Object> extends AsyncResult {
    private final Type resultType;

    TypedAsyncResult(AsyncResult handle, Type resultType) {
        super(handle);
        this.resultType = Objects.requireNonNull(resultType, "resultType");
    }

    /** What {@link #get(Duration)} converts the result to. */
    public Type resultType() {
        return resultType;
    }

    /**
     * Waits for the task to finish and returns its result as a {@code T}; null if the task returned nothing (and
     * always for {@code Void}, whatever a worker stored).
     *
     * @throws TaskFailedException if the task failed (type, message and traceback of the remote exception)
     * @throws TaskRevokedException if it was revoked or expired
     * @throws ResultTimeoutException if it did not finish in time
     * @throws CeleriacException if the stored result cannot be read as {@code T}: the worker's task returns
     *     something else than the caller's declaration says
     */
    @Override
    public T get(Duration timeout) {
        Object value = super.get(timeout);
        if (resultType == Void.class) {
            return null;
        }
        try {
            return codec().fromJsonValue(value, resultType);
        } catch (IllegalArgumentException e) {
            throw new CeleriacException("The result of task " + id() + " cannot be read as "
                    + resultType.getTypeName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public TypedAsyncResult<T> withParent(@Nullable Object newParent) {
        return new TypedAsyncResult<>(super.withParent(newParent), resultType);
    }
}
