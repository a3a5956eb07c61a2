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
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Hands received requests to the pool as pool slots come free. A request waiting here holds no pool slot.
 *
 * <p>Requests without a rate limit wait in {@link #ready}, in the order received, and are taken by whoever frees or
 * finds a slot: the consumer as it receives them, and a pool thread as it finishes a task, which then runs the next
 * one itself. A no-op task then costs no thread wake-up at all (waking a thread costs its waker tens of microseconds
 * on a virtual machine, more than such a task). Requests of rate-limited tasks wait for a token (a
 * {@link TokenBucket} per task name, per worker, as Celery does) on thread {@code celeriac-dispatch}, in their own
 * queue, so they hold up no other task.
 */
final class Dispatcher {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private final CeleriacConfig config;
    private final Slots slots;
    private final ExecutorService pool;
    private final ScheduledExecutorService timer;
    private final AtomicBoolean draining;
    private final Consumer<Request> run;
    /**
     * Requests without a rate limit waiting for a slot. Whoever adds one or frees a slot checks the other afterwards
     * ({@link #take}), so a request never waits while a slot is free.
     */
    private final ConcurrentLinkedDeque<Request> ready = new ConcurrentLinkedDeque<>();
    /** Requests of rate-limited tasks, for the dispatch thread. */
    private final LinkedBlockingDeque<Request> limited = new LinkedBlockingDeque<>();
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
     * Queues a reserved request for a slot (the consumer's thread). Those that get one at once, in the order received,
     * are started by the next {@link #flush}; the others are taken by pool threads as they finish their tasks.
     */
    void offer(Request r) {
        if (rateLimited(r)) {
            limited.add(r);
            return;
        }
        ready.add(r);
        for (Request next; (next = take()) != null; ) {
            started.add(next);
        }
    }

    /**
     * The next waiting request, now holding a slot, or null if none waits or no slot is free. Called after adding a
     * request and after freeing a slot: each side makes its change before it looks at the other's, so one of them
     * always sees both a request and a slot.
     */
    private @Nullable Request take() {
        while (dispatching && !draining.get() && !ready.isEmpty() && slots.tryAcquire()) {
            Request r = ready.poll();
            if (r == null) {
                // Taken by another thread between the two checks; the loop looks again after giving the slot back.
                slots.release();
                continue;
            }
            if (r.state.get() != Request.RESERVED) {
                slots.release();
                continue;
            }
            return r;
        }
        return null;
    }

    /**
     * Starts waiting requests on slots freed outside a pool thread's own loop (a hard time limit, a terminate, a
     * grown pool), where no pool thread goes on to take them.
     */
    void slotsFreed() {
        List<Request> batch = new ArrayList<>();
        for (Request next; (next = take()) != null; ) {
            batch.add(next);
        }
        start(batch);
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
        start(started);
        started.clear();
    }

    private void start(Collection<Request> requests) {
        if (requests.isEmpty()) {
            return;
        }
        Run batch = new Run(requests);
        if (!batch.help()) {
            // The pool refused (it is shutting down): the requests stay reserved, for the shutdown to give back.
            for (Request r; (r = batch.requests.pollLast()) != null; ) {
                slots.release();
                ready.addFirst(r);
            }
        }
    }

    /**
     * Requests, each holding a pool slot, run by the pool threads that take them in turn. A thread that takes one and
     * leaves others behind has another thread started, unless one is already on its way, so a slow task never holds
     * up the requests behind it for longer than a thread's start, while short tasks run one after another on the
     * threads already awake. A thread that finds none left takes the next request waiting for a slot, if any: its
     * task has just given its slot back.
     */
    private final class Run implements Runnable {
        final ConcurrentLinkedDeque<Request> requests;
        /** A thread was asked for and has not yet started taking requests. */
        final AtomicBoolean helping = new AtomicBoolean();

        Run(Collection<Request> requests) {
            this.requests = new ConcurrentLinkedDeque<>(requests);
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
            for (Request r; (r = next()) != null; ) {
                if (!requests.isEmpty()) {
                    // Refused (shutting down): this thread takes the rest itself.
                    help();
                }
                run.accept(r);
            }
        }

        private @Nullable Request next() {
            Request r = requests.poll();
            return r != null ? r : take();
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
        ready.clear();
        limited.clear();
    }

    /** The dispatch thread: requests of rate-limited tasks, each when its token and a slot are there. */
    private void dispatchLoop() {
        while (dispatching) {
            Request r;
            try {
                r = limited.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (r == null || r.state.get() != Request.RESERVED) {
                continue;
            }
            long wait = rateLimitWait(r);
            if (wait > 0) {
                timer.schedule(() -> limited.add(r), wait, TimeUnit.NANOSECONDS);
                continue;
            }
            try {
                slots.acquire();
            } catch (InterruptedException e) {
                limited.addFirst(r);
                break;
            }
            if (!dispatching || draining.get()) {
                slots.release();
                limited.addFirst(r);
                if (!draining.get()) {
                    break;
                }
                // Draining: nothing starts any more; the request stays reserved for the shutdown to give back.
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    break;
                }
            }
            Run single = new Run(List.of(r));
            if (!single.help()) {
                slots.release();
                limited.addFirst(r);
                log.error("Pool refused a task: {}", r.label());
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
