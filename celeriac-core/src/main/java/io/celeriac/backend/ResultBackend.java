package io.celeriac.backend;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where task states and results are kept (Celery's result backend). Writes take a batch so a worker can store
 * many results in one round trip; each document is kept for the backend's {@code result_expires}.
 */
public interface ResultBackend extends AutoCloseable {

    /**
     * Stores documents in order (a later document for the same id replaces the earlier one).
     *
     * <p>Failure tells the worker what to do next. A backend that cannot be reached throws
     * {@link ResultBackendUnavailableException} (or {@code BrokerUnavailableException}, as the Redis backend does):
     * the worker retries the batch until it goes through. Any other exception means the backend refused what it was
     * given (a value too long for a column, say); the worker then stores the batch in parts to find the refused
     * document and records a FAILURE in its place. Either way part of the batch may have been stored: storing a
     * document again is harmless.
     */
    void store(List<ResultDocument> documents);

    default void store(ResultDocument document) {
        store(List.of(document));
    }

    /**
     * Starts storing documents and returns without waiting: a worker keeps a few batches of final results under way
     * at once, so that the round trips of consecutive batches overlap rather than add up (each batch's messages are
     * acked once it completes). The future completes when all are stored, or exceptionally if any may not be, within
     * a bounded time; the worker then stores the batch again with {@link #store}, which tells an outage from a
     * refusal. The worker passes only final results of distinct tasks this way, so a batch stored again after a
     * later one replaces nothing newer.
     *
     * <p>The default stores them before it returns.
     */
    default CompletableFuture<Void> storeAsync(List<ResultDocument> documents) {
        try {
            store(documents);
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The stored document, or empty while PENDING (never stored, or expired). */
    Optional<ResultDocument> get(String taskId);

    /**
     * Waits until the task reaches a ready state (SUCCESS, FAILURE, REVOKED) or the timeout passes; returns the
     * last document seen (possibly not ready), or empty if none was stored. Implementations wait on a notification,
     * not by polling.
     */
    Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException;

    /** Deletes the stored result. */
    void forget(Collection<String> taskIds);

    default void forget(String taskId) {
        forget(List.of(taskId));
    }

    /**
     * The queue this backend receives results on, when it receives them as messages (Celery's {@code rpc://}): the
     * producer sends every task with it as {@code reply_to}, so the worker's results come back to this process.
     * Empty for a backend that stores results where anyone can read them.
     */
    default Optional<String> replyQueue() {
        return Optional.empty();
    }

    /**
     * Called before every send: a backend that receives results as messages makes sure its {@link #replyQueue} exists
     * and is listened to (Celery's {@code on_task_call}), so no result arrives before it. Throws
     * {@link ResultBackendUnavailableException} if it cannot.
     */
    default void beforeSend() {
    }

    /** Counting of chord parts, if this backend can do it (Redis, JDBC and in memory can). */
    default Optional<ChordCounter> chords() {
        return Optional.empty();
    }

    @Override
    default void close() {
    }
}
