package io.celeriac.worker;

import io.celeriac.task.TaskRequest;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Receives a worker's task lifecycle: the hook for events, metrics and error reporting. Called on worker threads;
 * implementations must be quick and should not throw. One that throws anyway is isolated: the worker logs the first
 * failure of each callback and carries on as if the call had returned, so a faulty listener never holds a pool slot
 * or a prefetch permit.
 */
public interface WorkerListener {
    /** The worker has started consuming. */
    default void workerReady(Worker worker) {
    }

    /** The worker has stopped (after warm or cold shutdown). */
    default void workerStopped(Worker worker) {
    }

    /** Remote control asked for a heartbeat now (Celery's {@code heartbeat} command, sent by {@code celery events}). */
    default void heartbeatRequested(Worker worker) {
    }

    default void taskReceived(TaskRequest request) {
    }

    default void taskStarted(TaskRequest request) {
    }

    default void taskSucceeded(TaskRequest request, @Nullable Object result, Duration runtime) {
    }

    default void taskFailed(TaskRequest request, Throwable error, Duration runtime) {
    }

    default void taskRetried(TaskRequest request, @Nullable Throwable reason, Duration countdown) {
    }

    default void taskRevoked(TaskRequest request, boolean terminated, boolean expired) {
    }

    /**
     * A message that could not run at all and went to the dead-letter queue, with the reason logged. The request is
     * what the message asked for (an unregistered task keeps its name, id and arguments), or null when the message
     * could not be read as a task message at all (not Celery's format, an encoding the worker refuses).
     */
    default void taskRejected(String queue, @Nullable TaskRequest request, String reason) {
    }
}
