package io.celeriac.worker;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The prefetch window ({@code worker_prefetch_multiplier x concurrency}): a permit per unacked message taken from the
 * broker, as Celery's prefetch counts. With acks late it is held until the message's outcome is written (result
 * stored, message settled), not merely until its task returns, so reserved, running and completing messages together
 * never exceed it. With acks early it goes back once the ack sent as the task starts is written: then the window
 * bounds the messages waiting for a pool slot, and the pool bounds the running ones.
 */
final class PrefetchWindow {
    private final Slots permits;
    /**
     * Messages taken from the broker and not yet settled: reserved, or (acks late) running or waiting in the
     * completer. Each holds a permit.
     */
    private final AtomicInteger held = new AtomicInteger();

    /** The window's size now (it changes as the pool grows or shrinks). */
    private final AtomicInteger size = new AtomicInteger();

    PrefetchWindow(int size) {
        this.permits = new Slots(size);
        this.size.set(size);
    }

    int size() {
        return size.get();
    }

    /**
     * Waits up to {@code timeoutMs} for room and takes all of it; returns how many permits were taken (0: none free).
     * Not a blocking acquire: with every permit held (the result backend down, say) the caller still wakes up.
     */
    int takeAll(long timeoutMs) throws InterruptedException {
        if (!permits.tryAcquire(timeoutMs, TimeUnit.MILLISECONDS)) {
            return 0;
        }
        return 1 + permits.drainPermits();
    }

    /** Takes all the room there is now, without waiting; returns how many permits were taken. */
    int takeAllNow() {
        return permits.drainPermits();
    }

    /** Of {@code taken} permits, {@code got} became messages; the rest go back. */
    void reserved(int taken, int got) {
        held.addAndGet(got);
        permits.release(taken - got);
    }

    /**
     * {@code n} messages whose outcome is written but whose acks the consumer writes with its next reserve
     * ({@link AckHandoff}): their permits go back now, for that reserve, which writes the acks first; they stay
     * counted as held until {@link #acked} says the acks are written.
     */
    void handOver(int n) {
        permits.release(n);
    }

    /** The acks of {@code n} handed-over messages are written. */
    void acked(int n) {
        held.addAndGet(-n);
    }

    /** Permits taken but not used (the reserve failed). */
    void release(int n) {
        permits.release(n);
    }

    /** The task behind {@code n} messages is done with: its outcome is written, its message settled. */
    void settle(int n) {
        held.addAndGet(-n);
        permits.release(n);
    }

    int inFlight() {
        return held.get();
    }

    void grow(int n) {
        size.addAndGet(n);
        permits.release(n);
    }

    void shrink(int n) {
        size.addAndGet(-n);
        permits.shrink(n);
    }
}
