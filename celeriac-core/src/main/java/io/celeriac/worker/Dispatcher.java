package io.celeriac.worker;

import io.celeriac.CeleriacConfig;
import io.celeriac.task.RateLimit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Thread {@code celeriac-dispatch}: takes received requests in order, waits for a rate-limit token (a
 * {@link TokenBucket} per task name, per worker, as Celery does) and for a free pool slot, and hands the request to
 * the pool. A request waiting here holds no pool slot.
 */
final class Dispatcher {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private final CeleriacConfig config;
    private final Slots slots;
    private final ExecutorService pool;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean draining;
    private final Consumer<Request> run;
    private final LinkedBlockingDeque<Request> ready = new LinkedBlockingDeque<>();
    /**
     * Requests queued in {@link #ready}, waiting for a rate-limit token, or taken by the dispatch thread and not yet
     * handed to the pool; while there are any, new requests queue behind them.
     */
    private final AtomicInteger queued = new AtomicInteger();
    private final Map<String, Request> reserved = new ConcurrentHashMap<>();
    /** Requests given a slot by {@link #offer} and not yet started ({@link #flush}); the consumer's thread only. */
    private final List<Request> started = new ArrayList<>();
    private final Map<String, TokenBucket> buckets = new ConcurrentHashMap<>();
    private final Map<String, Optional<RateLimit>> rateLimits = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean dispatching;
    private final java.util.function.LongSupplier ticker;

    Dispatcher(CeleriacConfig config, Slots slots, ExecutorService pool, ScheduledExecutorService timer,
               AtomicBoolean draining, Consumer<Request> run, java.util.function.LongSupplier ticker) {
        this.ticker = ticker;
        this.config = config;
        this.slots = slots;
        this.pool = pool;
        this.timer = timer;
        this.draining = draining;
        this.run = run;
        this.thread = new Thread(this::dispatchLoop, "celeriac-dispatch");
    }

    void start() {
        dispatching = true;
        thread.start();
    }

    /** Stops handing out requests; those still waiting stay reserved, for the shutdown to give back. */
    void stop() {
        dispatching = false;
        thread.interrupt();
        Worker.joinQuietly(thread);
    }

    /** A received request, now counted as reserved (inspect reserved, revoke). */
    void reserve(Request r) {
        reserved.put(r.message.id(), r);
    }

    /**
     * Hands a reserved request to the pool, or queues it for a slot. When nothing waits before it, a slot is free and
     * its task has no rate limit, the caller takes the slot itself and the request is started by the next
     * {@link #flush}: the order is the same and the request skips a wake-up of the dispatch thread.
     */
    void offer(Request r) {
        if (queued.get() == 0 && dispatching && !draining.get() && !rateLimited(r) && slots.tryAcquire()) {
            if (r.state.get() != Request.RESERVED) {
                slots.release();
                return;
            }
            started.add(r);
            return;
        }
        queued.incrementAndGet();
        ready.add(r);
    }

    /**
     * Starts the requests {@link #offer} gave a slot since the last call (the consumer calls it after each batch). They
     * go to the pool together, as one {@link Run}: waking a pool thread costs its waker tens of microseconds on a
     * virtual machine, so the consumer wakes one, and pool threads wake each other only while requests are left that
     * no thread has taken, at most one wake-up under way at a time.
     */
    void flush() {
        if (started.isEmpty()) {
            return;
        }
        Run batch = new Run(new ConcurrentLinkedQueue<>(started));
        started.clear();
        if (!batch.help()) {
            // The pool refused (it is shutting down): the requests wait for a slot like any other.
            for (Request r; (r = batch.requests.poll()) != null; ) {
                slots.release();
                queued.incrementAndGet();
                ready.add(r);
            }
        }
    }

    /**
     * Requests, each holding a pool slot, run by the pool threads that take them in turn. A thread that takes one and
     * leaves others behind has another thread started, unless one is already on its way, so a slow task never holds
     * up the requests behind it for longer than a thread's start, while short tasks run one after another on the
     * threads already awake.
     */
    private final class Run implements Runnable {
        final ConcurrentLinkedQueue<Request> requests;
        /** A thread was asked for and has not yet started taking requests. */
        final AtomicBoolean helping = new AtomicBoolean();

        Run(ConcurrentLinkedQueue<Request> requests) {
            this.requests = requests;
        }

        /** Asks the pool for one more thread; false if it refused. */
        boolean help() {
            if (!helping.compareAndSet(false, true)) {
                return true;
            }
            try {
                pool.execute(this);
                return true;
            } catch (RuntimeException e) {
                helping.set(false);
                return false;
            }
        }

        @Override
        public void run() {
            helping.set(false);
            for (Request r; (r = requests.poll()) != null; ) {
                if (!requests.isEmpty()) {
                    // Refused (shutting down): this thread takes the rest itself.
                    help();
                }
                run.accept(r);
            }
        }
    }

    private boolean rateLimited(Request r) {
        return rateLimit(r).isPresent();
    }

    Request reserved(String id) {
        return reserved.get(id);
    }

    void unreserve(String id) {
        reserved.remove(id);
    }

    Collection<Request> reservedRequests() {
        return reserved.values();
    }

    void clearReady() {
        queued.addAndGet(-ready.size());
        ready.clear();
    }

    private void dispatchLoop() {
        while (dispatching) {
            Request r;
            try {
                r = ready.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (r == null) {
                continue;
            }
            if (r.state.get() != Request.RESERVED) {
                queued.decrementAndGet();
                continue;
            }
            long wait = rateLimitWait(r);
            if (wait > 0) {
                timer.schedule(() -> ready.add(r), wait, TimeUnit.NANOSECONDS);
                continue;
            }
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                ready.addFirst(r);
                break;
            }
            if (!dispatching || draining.get()) {
                slots.release();
                ready.addFirst(r);
                if (draining.get()) {
                    continue;
                }
                break;
            }
            try {
                pool.execute(() -> run.accept(r));
                queued.decrementAndGet();
            } catch (RuntimeException e) {
                slots.release();
                ready.addFirst(r);
                log.error("Pool refused a task: {}", e.toString());
            }
        }
    }

    private Optional<RateLimit> rateLimit(Request r) {
        return rateLimits.computeIfAbsent(r.message.task(), n -> r.definition.options().rateLimit()
                .or(() -> config.defaultRateLimit().map(RateLimit::parse)));
    }

    private long rateLimitWait(Request r) {
        String name = r.message.task();
        Optional<RateLimit> limit = rateLimit(r);
        if (limit.isEmpty()) {
            return 0;
        }
        long now = ticker.getAsLong();
        TokenBucket bucket = buckets.computeIfAbsent(name, n -> new TokenBucket(limit.get(), now));
        return bucket.tryTake(now);
    }

    /** Changes a task's rate limit at run time; null or "0" removes it. */
    void setRateLimit(String task, @Nullable String rate) {
        Optional<RateLimit> limit = rate == null || rate.isBlank() || rate.equals("0")
                ? Optional.empty() : Optional.of(RateLimit.parse(rate));
        rateLimits.put(task, limit);
        buckets.remove(task);
    }
}
