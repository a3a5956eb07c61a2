package io.celeriac.worker;

import io.celeriac.broker.Delivery;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskRequest;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A received message on its way through the worker. Its {@link #state} moves RESERVED -> RUNNING -> DONE (or
 * RESERVED -> DONE) by compare-and-set only, so whichever of the task, the hard time limit, a terminate or a
 * shutdown gets there first writes the one outcome and gives back the one slot.
 */
final class Request {
    static final int RESERVED = 0;
    static final int RUNNING = 1;
    static final int DONE = 2;

    final Delivery delivery;
    final TaskMessage message;
    final TaskDefinition definition;
    final TaskRequest request;
    final boolean acksLate;
    final boolean ignoreResult;
    final boolean trackStarted;
    final @Nullable Duration softLimit;
    final @Nullable Duration hardLimit;
    final AtomicInteger state = new AtomicInteger(RESERVED);
    final Instant receivedAt;
    volatile @Nullable Thread thread;
    /** Set once the request's last write is queued (it then settles its prefetch permit). */
    volatile boolean finished;
    /**
     * Acked as it started (acks early): its prefetch permit goes back with that ack, so its last write settles
     * nothing.
     */
    volatile boolean ackedEarly;
    /** A STARTED or progress state was queued for writing: the last result must follow it through the completer. */
    volatile boolean wroteProgress;
    /** What the task sent while it ran (its result's {@code children}). */
    volatile java.util.List<Object> children = java.util.List.of();
    volatile boolean softExceeded;
    volatile long startNanos;
    volatile @Nullable Instant startedAt;
    @Nullable ScheduledFuture<?> softTimer;
    @Nullable ScheduledFuture<?> hardTimer;

    Request(Delivery delivery, TaskMessage message, TaskDefinition definition, TaskRequest request, boolean acksLate,
            boolean ignoreResult, boolean trackStarted, @Nullable Duration softLimit, @Nullable Duration hardLimit,
            Instant receivedAt) {
        this.delivery = delivery;
        this.message = message;
        this.definition = definition;
        this.request = request;
        this.acksLate = acksLate;
        this.ignoreResult = ignoreResult;
        this.trackStarted = trackStarted;
        this.softLimit = softLimit;
        this.hardLimit = hardLimit;
        this.receivedAt = receivedAt;
    }

    String label() {
        return message.task() + "[" + message.id() + "]";
    }
}
