package io.celeriac.worker;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.Delivery;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Method;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Consumes queues and runs tasks, Celery's worker. Independent of the broker behind {@link Broker}.
 *
 * <p>This class is the facade: it holds the settings, starts and stops the parts, and answers the public API. The
 * parts, one job each: {@link Consumer} ({@code celeriac-consumer}: reserves within the {@link PrefetchWindow},
 * decodes, dead-letters what cannot run, gives back what it could not settle); {@link Dispatcher}
 * ({@code celeriac-dispatch}: rate limits, pool slots; a request that waits for neither goes from the consumer
 * straight to the pool); {@link TaskRunner} (pool threads {@code celeriac-pool-N} or
 * virtual threads: runs tasks; {@code celeriac-timer}: time limits); {@link Outcomes} (what each outcome writes);
 * {@link Completer} ({@code celeriac-results}: writes results and acks in batches); {@link RemoteControl}
 * (broadcast commands and inspect replies).
 *
 * <p>Acknowledgement follows Celery: by default a message is acked just before its task starts (a crash while it
 * runs loses it); with {@code acks_late} it is acked after the result is stored (a crash redelivers it).
 */
public final class Worker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private final CeleriacConfig config;
    private final Broker broker;
    private final Clock clock;
    private final String hostname;
    private final List<String> queues;
    private final AtomicInteger concurrency;
    private final int prefetchMultiplier;
    private final Slots slots;
    private final PrefetchWindow window;
    private final AckHandoff ackHandoff = new AckHandoff();
    private final String poolKind;
    private final ExecutorService pool;
    private final ScheduledThreadPoolExecutor timer;
    private final RevokedIds revoked = new RevokedIds();
    private final List<WorkerListener> listeners;
    private final Completer completer;
    private final Outcomes outcomes;
    private final Dispatcher dispatcher;
    private final TaskRunner runner;
    private final Consumer consumer;
    private final RemoteControl remote;
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** Counted down when a shutdown is asked for: ends a startup that is still waiting for the broker. */
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Instant createdAt;
    private volatile boolean started;
    /** Set once workerReady was announced, so that workerStopped pairs with it. */
    private volatile boolean announced;
    private volatile boolean closed;
    private volatile boolean coldRequested;
    /** Set when the worker is being recycled: take and start nothing more. */
    private final AtomicBoolean draining = new AtomicBoolean();
    private volatile @Nullable AutoCloseable controlSubscription;

    private Worker(Builder b) {
        WorkerEnvironment env = b.env;
        this.config = env.config();
        this.broker = env.broker();
        // The size limit is the worker's (celeriac_max_message_bytes); the app's codec is used as is when it matches.
        MessageCodec codec = env.codec().withMaxMessageBytes(config.maxMessageBytes());
        this.clock = env.clock();
        this.hostname = expandHostname(b.hostname == null ? config.hostname() : b.hostname);
        this.queues = new CopyOnWriteArrayList<>(b.queues.isEmpty() ? List.of(config.defaultQueue()) : b.queues);
        this.poolKind = b.pool == null ? config.pool() : b.pool;
        int n = "solo".equals(poolKind) ? 1 : (b.concurrency > 0 ? b.concurrency : config.concurrency());
        this.concurrency = new AtomicInteger(n);
        this.prefetchMultiplier = b.prefetchMultiplier > 0 ? b.prefetchMultiplier : config.prefetchMultiplier();
        this.slots = new Slots(n);
        this.window = new PrefetchWindow(n * prefetchMultiplier);
        this.pool = createPool(poolKind);
        this.timer = new ScheduledThreadPoolExecutor(1, named("celeriac-timer", false));
        this.timer.setRemoveOnCancelPolicy(true);
        List<WorkerListener> all = new ArrayList<>(b.listeners);
        if (b.sendEvents != null ? b.sendEvents : config.sendTaskEvents()) {
            all.add(new EventDispatcher(broker, hostname, clock));
        }
        // Each listener is isolated: one that throws must not hold a pool slot or a prefetch permit.
        this.listeners = all.stream().<WorkerListener>map(GuardedListener::new).toList();
        CanvasSteps canvas = new CanvasSteps(env.messages(), env.backend(), broker, codec, clock);
        this.completer = new Completer(broker, env.backend(), clock, window::settle,
                finished -> ackHandoff.offer(finished, () -> window.handOver(AckHandoff.permits(finished))),
                broker.storesResultsOf(env.backend()), window::acked, canvas, "celeriac-results");
        this.outcomes = new Outcomes(config, codec, clock, completer, listeners, canvas);
        // The runner is built after the dispatcher that feeds it (it needs the dispatcher's reserved requests), so
        // the dispatcher reaches it through runTask, which reads the field only once tasks run.
        this.dispatcher = new Dispatcher(config, slots, pool, timer, draining, this::runTask, b.ticker);
        this.runner = new TaskRunner(clock, hostname, env.pid(), slots, timer,
                new TaskTracer(codec, env.interceptors()), outcomes, dispatcher, revoked, listeners, draining,
                b.maxTasksPerChild >= 0 ? b.maxTasksPerChild : config.maxTasksPerChild(),
                b.maxMemoryPerChildKb >= 0 ? b.maxMemoryPerChildKb : config.maxMemoryPerChildKb(),
                () -> shutdown(Duration.ofSeconds(30)));
        this.consumer = new Consumer(config, broker, codec, clock, env.registry(), hostname, queues, window, revoked,
                dispatcher, outcomes, listeners, draining, ackHandoff, canvas, env.backend(), completer);
        this.remote = new RemoteControl(this, broker, env.registry(), env.pid(), dispatcher, runner, revoked);
        this.createdAt = clock.instant();
    }

    private void runTask(Request r) {
        runner.run(r);
    }

    /** A worker builder for the app this environment comes from (usually {@code app.worker()}). */
    public static Builder builder(WorkerEnvironment env) {
        return new Builder(env);
    }

    /** Node name with {@code %h} (host), {@code %n} (host name part) and {@code %d} (domain) expanded. */
    static String expandHostname(String pattern) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "localhost";
        }
        int dot = host.indexOf('.');
        String name = dot < 0 ? host : host.substring(0, dot);
        String domain = dot < 0 ? "" : host.substring(dot + 1);
        String out = pattern.replace("%h", host).replace("%n", name).replace("%d", domain);
        return out.contains("@") ? out : "celery@" + out;
    }

    private static ThreadFactory named(String prefix, boolean numbered) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, numbered ? prefix + n.incrementAndGet() : prefix);
            t.setDaemon(true);
            return t;
        };
    }

    private static ExecutorService createPool(String kind) {
        if ("virtual".equals(kind)) {
            try {
                // Java 21+: Executors.newVirtualThreadPerTaskExecutor(); looked up so the code still targets 17.
                Method m = java.util.concurrent.Executors.class.getMethod("newVirtualThreadPerTaskExecutor");
                return (ExecutorService) m.invoke(null);
            } catch (ReflectiveOperationException e) {
                log.warn("Virtual threads need Java 21 or newer (this is Java {}); using platform threads",
                        Runtime.version().feature());
            }
        }
        // Grows on demand: the dispatcher bounds concurrency with slots, and a thread abandoned at a hard time limit
        // is simply replaced by a new one.
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                named("celeriac-pool-", true));
    }

    public String hostname() {
        return hostname;
    }

    public List<String> queues() {
        return List.copyOf(queues);
    }

    public int concurrency() {
        return concurrency.get();
    }

    String poolKind() {
        return poolKind;
    }

    int prefetchCount() {
        return concurrency.get() * prefetchMultiplier;
    }

    String brokerUrl() {
        return config.brokerUrl();
    }

    Clock clock() {
        return clock;
    }

    /**
     * Connects to the broker (declares the queues, subscribes to remote control) and starts consuming. Like Celery's
     * worker, it blocks until the broker answers: while it does not, it logs {@code Cannot reach the broker at <url>
     * (<reason>); retrying in N s} and tries again, 2 s later at first and 2 s more each time (at most 30 s), up to
     * {@code broker_connection_max_retries} times ({@code broker_connection_retry_on_startup}). Returns once the
     * worker is consuming, or at once if it is already started; a {@link #shutdown} meanwhile ends the wait and
     * {@code start} returns with the worker stopped.
     *
     * @throws BrokerUnavailableException if the broker cannot be reached and retrying is off or exhausted; the
     *     worker is then stopped, nothing of it keeps running
     */
    public Worker start() {
        synchronized (this) {
            if (started) {
                return this;
            }
            started = true;
        }
        try {
            connectAtStartup();
        } catch (RuntimeException e) {
            synchronized (this) {
                closed = true;
            }
            closing.countDown();
            timer.shutdownNow();
            pool.shutdownNow();
            stopped.countDown();
            throw e;
        }
        synchronized (this) {
            if (closed) {
                // Shut down while waiting for the broker; shutdown() has stopped the rest.
                closeQuietly(controlSubscription);
                return this;
            }
            completer.start();
            dispatcher.start();
            consumer.start();
            announced = true;
        }
        for (WorkerListener l : listeners) {
            l.workerReady(this);
        }
        log.info("{} ready: queues {}, concurrency {} ({} pool), prefetch {}, acks {}", hostname, queues,
                concurrency.get(), poolKind, concurrency.get() * prefetchMultiplier,
                config.acksLate() ? "late" : "early");
        return this;
    }

    /**
     * Celery's {@code broker_connection_retry_on_startup}: kombu's {@code retry_over_time} waits 2 s, then 2 s more
     * each time up to 30 s, and gives up after {@code broker_connection_max_retries} retries (null: never; 0: no
     * retry at all, as kombu counts, although older Celery docs said 0 meant forever).
     */
    private void connectAtStartup() {
        int retries = 0;
        while (true) {
            try {
                broker.declare(queues);
                broker.prefetchCount(concurrency.get() * prefetchMultiplier);
                if (controlSubscription == null) {
                    controlSubscription = remote.subscribe();
                }
                if (retries > 0) {
                    log.info("Connected to the broker at {} after {} retr{}", redact(config.brokerUrl()), retries,
                            retries == 1 ? "y" : "ies");
                }
                return;
            } catch (RuntimeException e) {
                String url = redact(config.brokerUrl());
                Integer max = config.brokerConnectionMaxRetries();
                if (!config.brokerConnectionRetryOnStartup() || (max != null && retries >= max)) {
                    String why = !config.brokerConnectionRetryOnStartup() ? "broker_connection_retry_on_startup is off"
                            : "gave up after " + retries + " retr" + (retries == 1 ? "y" : "ies")
                            + " (broker_connection_max_retries=" + max + ")";
                    throw new BrokerUnavailableException("Cannot reach the broker at " + url + " (" + rootMessage(e)
                            + "); " + why + ". Is the broker running, and is broker_url right?", e);
                }
                retries++;
                long seconds = Math.min(30, 2L * retries);
                log.error("Cannot reach the broker at {} ({}); retrying in {} s ({}/{})", url, rootMessage(e), seconds,
                        retries, max == null ? "None" : max);
                try {
                    if (closing.await(seconds, TimeUnit.SECONDS)) {
                        return;
                    }
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new BrokerUnavailableException("interrupted while waiting for the broker at " + url, ie);
                }
            }
        }
    }

    /** A URL fit for logs: the password replaced. */
    static String redact(@Nullable String url) {
        return url == null ? "?" : url.replaceAll("(://[^:/@]*:)[^@/]*@", "$1***@");
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private static void closeQuietly(@Nullable AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            log.debug("closing control subscription", e);
        }
    }

    /**
     * Messages taken from the broker and not settled yet, never more than the prefetch window: waiting for a pool
     * slot, and with acks late also running or waiting for their result to be stored and their ack written.
     */
    public int inFlight() {
        return window.inFlight();
    }

    // ------------------------------------------------------------------ control

    /** Marks ids revoked; reserved ones are dropped now, and with {@code terminate} running ones are interrupted. */
    public void revoke(Collection<String> ids, boolean terminate) {
        for (String id : ids) {
            revoked.add(id);
            Request r = dispatcher.reserved(id);
            if (r != null && r.state.compareAndSet(Request.RESERVED, Request.DONE)) {
                dispatcher.unreserve(id);
                log.info("Discarding revoked task: {}", r.label());
                outcomes.finishRevoked(r, false, false, true);
            }
            if (terminate) {
                runner.terminate(id);
            }
        }
    }

    /** Ids this worker holds as revoked. */
    public List<String> revokedIds() {
        return revoked.list();
    }

    /** Changes a task's rate limit at run time; null or "0" removes it. */
    public void setRateLimit(String task, @Nullable String rate) {
        dispatcher.setRateLimit(task, rate);
    }

    /** Celery's {@code heartbeat} command: listeners that send heartbeats send one now. */
    void requestHeartbeat() {
        for (WorkerListener l : listeners) {
            l.heartbeatRequested(this);
        }
    }

    public void growPool(int n) {
        concurrency.addAndGet(n);
        slots.release(n);
        dispatcher.slotsFreed();
        window.grow(n * prefetchMultiplier);
        broker.prefetchCount(concurrency.get() * prefetchMultiplier);
    }

    public void shrinkPool(int n) {
        int by = Math.min(n, concurrency.get() - 1);
        if (by <= 0) {
            return;
        }
        concurrency.addAndGet(-by);
        slots.shrink(by);
        window.shrink(by * prefetchMultiplier);
        broker.prefetchCount(concurrency.get() * prefetchMultiplier);
    }

    public void addConsumer(String queue) {
        if (!queues.contains(queue)) {
            broker.declare(List.of(queue));
            queues.add(queue);
        }
    }

    public void cancelConsumer(String queue) {
        if (queues.size() > 1) {
            queues.remove(queue);
        }
    }

    /**
     * Handles a broadcast command addressed to this worker and returns the reply Celery's workers give (null when
     * the command is not for this worker or unknown).
     */
    public Object control(ControlMessage m) {
        return remote.control(m);
    }

    /** Celery's {@code inspect stats} subset that tools read. */
    public Map<String, Object> stats() {
        return remote.stats();
    }

    // ------------------------------------------------------------------ inspection

    /** Requests running now. */
    public List<TaskRequest> active() {
        return runner.activeRequests().stream().map(r -> r.request).toList();
    }

    /** Requests received and waiting for a slot (or a rate-limit token). */
    public List<TaskRequest> reserved() {
        return dispatcher.reservedRequests().stream().map(r -> r.request).toList();
    }

    /** Tasks run so far by name (Celery's {@code stats()['total']}). */
    public Map<String, Long> processed() {
        return runner.processed();
    }

    public long processedTotal() {
        return runner.processedTotal();
    }

    /** Threads abandoned at a hard time limit or terminate that have not returned yet. */
    public int abandonedThreads() {
        return runner.abandoned();
    }

    public Instant startedAt() {
        return createdAt;
    }

    // ------------------------------------------------------------------ shutdown

    /**
     * Warm shutdown (Celery's SIGTERM): stop consuming, give reserved messages back to the broker, let running tasks
     * finish within {@code grace}; then, if some still run, cold shutdown.
     */
    public void shutdown(Duration grace) {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        closing.countDown();
        long deadline = System.nanoTime() + grace.toNanos();
        log.info("{}: warm shutdown, {} running task(s) may finish within {} s", hostname, runner.activeCount(),
                grace.toSeconds());
        stopConsuming();
        while (runner.activeCount() > 0 && System.nanoTime() < deadline && !coldRequested) {
            sleepQuietly(10);
        }
        if (runner.activeCount() > 0) {
            log.warn("{}: {} task(s) still running {}: cold shutdown", hostname, runner.activeCount(),
                    coldRequested ? "when a cold shutdown was asked for" : "after the grace period");
        }
        terminateRunning();
        stopRest(deadline + TimeUnit.SECONDS.toNanos(5));
    }

    /**
     * Cold shutdown (Celery's second SIGTERM or SIGQUIT): stop at once. Running acks-late tasks go back to the queue;
     * running acks-early tasks were already acked and are lost, exactly as in Celery.
     */
    public void shutdownNow() {
        coldRequested = true;
        synchronized (this) {
            if (closed) {
                // A warm shutdown is under way: it sees coldRequested and stops waiting for running tasks.
                return;
            }
            closed = true;
        }
        closing.countDown();
        log.warn("{}: cold shutdown", hostname);
        stopConsuming();
        terminateRunning();
        stopRest(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
    }

    private void stopConsuming() {
        consumer.stop();
        try {
            broker.prefetchCount(0); // what a pushing broker delivered ahead goes back now, not when it closes
        } catch (RuntimeException e) {
            log.warn("{}: could not stop the broker's prefetch ({}); its messages return when it closes", hostname,
                    e.toString());
        }
        dispatcher.stop();
        List<Delivery> back = new ArrayList<>();
        for (Request r : new ArrayList<>(dispatcher.reservedRequests())) {
            if (r.state.compareAndSet(Request.RESERVED, Request.DONE)) {
                dispatcher.unreserve(r.message.id());
                back.add(r.delivery);
            }
        }
        dispatcher.clearReady();
        back.addAll(consumer.drainGiveBack());
        if (!back.isEmpty()) {
            try {
                broker.requeue(back);
                log.info("{}: gave {} reserved message(s) back to the broker", hostname, back.size());
            } catch (RuntimeException e) {
                log.error("{}: could not requeue {} reserved message(s) ({}); they return after the visibility "
                        + "timeout", hostname, back.size(), e.toString());
            }
            window.settle(back.size());
        }
        closeQuietly(controlSubscription);
    }

    private void terminateRunning() {
        List<Delivery> back = runner.abandonAll();
        if (!back.isEmpty()) {
            try {
                broker.requeue(back);
                log.warn("{}: {} running acks-late task(s) returned to the queue", hostname, back.size());
            } catch (RuntimeException e) {
                log.error("{}: could not requeue running tasks ({}); they return after the visibility timeout",
                        hostname, e.toString());
            }
        }
    }

    private void stopRest(long deadlineNanos) {
        completer.stop(deadlineNanos);
        timer.shutdownNow();
        pool.shutdownNow();
        if (announced) {
            for (WorkerListener l : listeners) {
                l.workerStopped(this);
            }
        }
        stopped.countDown();
        log.info("{}: stopped after {} task(s)", hostname, runner.processedTotal());
    }

    /** Blocks until the worker has stopped (by {@link #shutdown}, {@link #shutdownNow} or a remote shutdown). */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    static void joinQuietly(Thread t) {
        if (!t.isAlive()) {
            return;
        }
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Warm shutdown with a 30 s grace period. */
    @Override
    public void close() {
        shutdown(Duration.ofSeconds(30));
    }

    /** Worker settings; unset ones come from the app's configuration. */
    public static final class Builder {
        private final WorkerEnvironment env;
        private final List<String> queues = new ArrayList<>();
        private int concurrency;
        private int prefetchMultiplier;
        private @Nullable String pool;
        private @Nullable String hostname;
        private final List<WorkerListener> listeners = new ArrayList<>();
        private @Nullable Boolean sendEvents;
        private int maxTasksPerChild = -1;
        private long maxMemoryPerChildKb = -1;
        private java.util.function.LongSupplier ticker = System::nanoTime;

        private Builder(WorkerEnvironment env) {
            this.env = env;
        }

        public Builder queues(String... v) { queues.addAll(List.of(v)); return this; }
        public Builder queues(Collection<String> v) { queues.addAll(v); return this; }
        public Builder concurrency(int v) { this.concurrency = v; return this; }
        public Builder prefetchMultiplier(int v) { this.prefetchMultiplier = v; return this; }
        /** {@code threads}, {@code virtual} (Java 21+) or {@code solo}. */
        public Builder pool(String v) { this.pool = v; return this; }
        /** Node name; {@code %h} expands to the host name, as in {@code -n email@%h}. */
        public Builder hostname(String v) { this.hostname = v; return this; }
        public Builder listener(WorkerListener v) { listeners.add(v); return this; }
        /** Emit Celery's monitoring events ({@code -E}, {@code worker_send_task_events}). */
        public Builder sendEvents(boolean v) { this.sendEvents = v; return this; }
        /** Stop cleanly after this many tasks (0 = never), for a supervisor to restart the process. */
        public Builder maxTasksPerChild(int v) { this.maxTasksPerChild = v; return this; }
        /** Stop cleanly once the heap in use exceeds this many KiB after a task (0 = never). */
        public Builder maxMemoryPerChildKb(long v) { this.maxMemoryPerChildKb = v; return this; }

        /**
         * The monotonic nanosecond source rate limits are measured on ({@code System::nanoTime}); a test sets its
         * own to check the spacing without depending on how fast the machine runs.
         */
        Builder ticker(java.util.function.LongSupplier v) { this.ticker = v; return this; }

        public Worker build() {
            return new Worker(this);
        }

        /** Builds and starts. */
        public Worker start() {
            return build().start();
        }
    }
}
