package io.celeriac.backend;

import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Counts finished chord parts, so the body is sent once, when the last part is done (Celery's native chord join).
 * Optional capability of a {@link ResultBackend} ({@link ResultBackend#chords()}). On Redis it uses Celery's keys
 * ({@code celery-taskset-meta-<group>.j}, {@code .s}, {@code .t}), so Python and Java workers count into one chord.
 *
 * <p>Every method may throw {@link ResultBackendUnavailableException} (or the broker's unavailable exception for a
 * backend on the broker's Redis): the worker retries, and the methods are safe to repeat.
 */
public interface ChordCounter {

    /** A finished part as recorded: its task id, final state and result (the exception map for a failure). */
    record Part(String taskId, String state, @Nullable Object result) {
    }

    /** Records how many parts complete the chord of {@code groupId} (Celery's {@code set_chord_size}). */
    void setSize(String groupId, int size);

    /**
     * Records a finished part. Returns every part, in group order, if this call completed the chord (the recorded
     * parts reached the size); otherwise empty. A part recorded again (its message was redelivered) replaces its
     * first record, so it counts once.
     */
    Optional<List<Part>> partDone(String groupId, String taskId, @Nullable Integer groupIndex, String state,
                                  @Nullable Object result);

    /** Deletes the chord's records once its body was sent. */
    void forget(String groupId);
}
