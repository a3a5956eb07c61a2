package io.celeriac.worker;

import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A listener that cannot hurt the worker: whatever it throws is logged (the first time for each callback, then
 * counted at debug level) and otherwise ignored, so a faulty listener never holds a pool slot or a prefetch
 * permit. Fatal VM errors still propagate.
 */
final class GuardedListener implements WorkerListener {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");
    private final WorkerListener delegate;
    private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

    GuardedListener(WorkerListener delegate) {
        this.delegate = delegate;
    }

    private void failed(String callback, Throwable t) {
        if (t instanceof VirtualMachineError e) {
            throw e;
        }
        long n = failures.computeIfAbsent(callback, k -> new AtomicLong()).incrementAndGet();
        if (n == 1) {
            log.error("Listener {} threw in {}; ignored (further failures of this callback are logged at debug "
                    + "level)", delegate.getClass().getName(), callback, t);
        } else {
            log.debug("Listener {} threw in {} ({} times so far): {}", delegate.getClass().getName(), callback, n,
                    t.toString());
        }
    }

    @Override
    public void workerReady(Worker worker) {
        try {
            delegate.workerReady(worker);
        } catch (Throwable t) {
            failed("workerReady", t);
        }
    }

    @Override
    public void heartbeatRequested(Worker worker) {
        try {
            delegate.heartbeatRequested(worker);
        } catch (Throwable t) {
            failed("heartbeatRequested", t);
        }
    }

    @Override
    public void workerStopped(Worker worker) {
        try {
            delegate.workerStopped(worker);
        } catch (Throwable t) {
            failed("workerStopped", t);
        }
    }

    @Override
    public void taskReceived(TaskRequest request) {
        try {
            delegate.taskReceived(request);
        } catch (Throwable t) {
            failed("taskReceived", t);
        }
    }

    @Override
    public void taskStarted(TaskRequest request) {
        try {
            delegate.taskStarted(request);
        } catch (Throwable t) {
            failed("taskStarted", t);
        }
    }

    @Override
    public void taskSucceeded(TaskRequest request, @Nullable Object result, Duration runtime) {
        try {
            delegate.taskSucceeded(request, result, runtime);
        } catch (Throwable t) {
            failed("taskSucceeded", t);
        }
    }

    @Override
    public void taskFailed(TaskRequest request, Throwable error, Duration runtime) {
        try {
            delegate.taskFailed(request, error, runtime);
        } catch (Throwable t) {
            failed("taskFailed", t);
        }
    }

    @Override
    public void taskRetried(TaskRequest request, @Nullable Throwable reason, Duration countdown) {
        try {
            delegate.taskRetried(request, reason, countdown);
        } catch (Throwable t) {
            failed("taskRetried", t);
        }
    }

    @Override
    public void taskRevoked(TaskRequest request, boolean terminated, boolean expired) {
        try {
            delegate.taskRevoked(request, terminated, expired);
        } catch (Throwable t) {
            failed("taskRevoked", t);
        }
    }

    @Override
    public void taskRejected(String queue, @Nullable TaskRequest request, String reason) {
        try {
            delegate.taskRejected(queue, request, reason);
        } catch (Throwable t) {
            failed("taskRejected", t);
        }
    }
}
