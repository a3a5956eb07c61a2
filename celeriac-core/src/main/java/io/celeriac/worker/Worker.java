package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.protocol.ResultCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.CurrentTask;
import io.celeriac.task.RateLimit;
import io.celeriac.task.RetryException;
import io.celeriac.task.TaskContext;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskOptions;
import io.celeriac.task.TaskRequest;
import io.celeriac.task.TaskState;
import io.celeriac.task.TimeLimitExceeded;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Method;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Consumes queues and runs tasks, Celery's worker. Independent of the broker behind {@link Broker}.
 *
 * <p>Threads: {@code celeriac-consumer} reserves messages in batches (never more than
 * {@code prefetch = multiplier x concurrency} reserved or running), decodes them, and sends what cannot run to the
 * dead-letter queue; {@code celeriac-dispatch} applies rate limits and hands requests to the pool when a slot is
 * free; pool threads ({@code celeriac-pool-N}, or virtual threads) run tasks; {@code celeriac-results} writes
 * results and acks in batches (see {@link Completer}); {@code celeriac-timer} enforces time limits.
 *
 * <p>Acknowledgement follows Celery: by default a message is acked just before its task starts (a crash while it
 * runs loses it); with {@code acks_late} it is acked after the result is stored (a crash redelivers it).
 */
public final class Worker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");
    private static final Logger trace = LoggerFactory.getLogger("celeriac.app.trace");

    private static final int RESERVED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;

    /** A received message on its way through the worker. */
    private static final class Request {
        final Delivery delivery;
        final TaskMessage message;
        final TaskDefinition definition;
        final TaskRequest request;
        final boolean acksLate;
        final boolean ignoreResult;
        final boolean trackStarted;
        final Duration softLimit;
        final Duration hardLimit;
        final AtomicInteger state = new AtomicInteger(RESERVED);
        final Instant receivedAt;
        volatile Thread thread;
        /** Set once the request's last write is queued (it then settles its prefetch permit). */
        volatile boolean finished;
        volatile boolean softExceeded;
        volatile long startNanos;
        volatile Instant startedAt;
        ScheduledFuture<?> softTimer;
        ScheduledFuture<?> hardTimer;

        Request(Delivery delivery, TaskMessage message, TaskDefinition definition, TaskRequest request,
                boolean acksLate, boolean ignoreResult, boolean trackStarted, Duration softLimit, Duration hardLimit,
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

    /** A semaphore whose permits can also be taken away (pool_shrink). */
    private static final class Slots extends Semaphore {
        Slots(int permits) {
            super(permits);
        }

        void shrink(int n) {
            reducePermits(n);
        }
    }

    /**
     * A listener that cannot hurt the worker: whatever it throws is logged (the first time for each callback, then
     * counted at debug level) and otherwise ignored, so a faulty listener never holds a pool slot or a prefetch
     * permit. Fatal VM errors still propagate.
     */
    private static final class Guarded implements WorkerListener {
        private final WorkerListener delegate;
        private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();

        Guarded(WorkerListener delegate) {
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
        public void taskSucceeded(TaskRequest request, Object result, Duration runtime) {
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
        public void taskRetried(TaskRequest request, Throwable reason, Duration countdown) {
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
        public void taskRejected(String queue, String taskName, String taskId, String reason) {
            try {
                delegate.taskRejected(queue, taskName, taskId, reason);
            } catch (Throwable t) {
                failed("taskRejected", t);
            }
        }
    }

    private final Celeriac app;
    private final CeleriacConfig config;
    private final Broker broker;
    private final ResultBackend backend;
    private final MessageCodec codec;
    private final Clock clock;
    private final String hostname;
    private final List<String> queues;
    private final AtomicInteger concurrency;
    private final int prefetchMultiplier;
    private final Slots slots;
    private final Slots prefetch;
    private final String poolKind;
    private final ExecutorService pool;
    private final ScheduledThreadPoolExecutor timer;
    private final LinkedBlockingDeque<Request> ready = new LinkedBlockingDeque<>();
    private final Map<String, Request> reserved = new ConcurrentHashMap<>();
    private final Map<String, Request> active = new ConcurrentHashMap<>();
    private final Map<String, TokenBucket> buckets = new ConcurrentHashMap<>();
    private final Map<String, Optional<RateLimit>> rateLimits = new ConcurrentHashMap<>();
    private final RevokedIds revoked = new RevokedIds();
    /**
     * Messages taken from the broker whose outcome is not written yet (reserved, running, or waiting in the
     * completer). Each holds a prefetch permit, given back only when its result is stored and its message settled.
     */
    private final AtomicInteger held = new AtomicInteger();
    /** Messages to hand back to the broker because deferring or dead-lettering them failed; the consumer retries. */
    private final ConcurrentLinkedQueue<Delivery> giveBack = new ConcurrentLinkedQueue<>();
    private long giveBackAt;
    private long giveBackBackoff = 100;
    private final Map<String, LongAdder> processed = new ConcurrentHashMap<>();
    private final AtomicLong processedTotal = new AtomicLong();
    private final AtomicInteger abandoned = new AtomicInteger();
    private final List<WorkerListener> listeners;
    private final TaskTracer tracer;
    private final Completer completer;
    private final Thread consumer;
    private final Thread dispatcher;
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** Counted down when a shutdown is asked for: ends a startup that is still waiting for the broker. */
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Instant createdAt;
    private volatile boolean consuming;
    private volatile boolean dispatching;
    private volatile boolean started;
    /** Set once workerReady was announced, so that workerStopped pairs with it. */
    private volatile boolean announced;
    private volatile boolean closed;
    private volatile boolean coldRequested;
    /** Set when the worker is being recycled: take and start nothing more. */
    private volatile boolean draining;
    private final int maxTasksPerChild;
    private final long maxMemoryPerChildKb;
    private final java.util.concurrent.atomic.AtomicBoolean recycling = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile AutoCloseable controlSubscription;
    /** The subscription attempt whose listener handles control commands (see {@link #subscribeControl}). */
    private volatile int liveControl;

    private Worker(Builder b) {
        this.app = b.app;
        this.config = app.config();
        this.broker = app.broker();
        this.backend = app.backend();
        // The size limit is the worker's (celeriac_max_message_bytes); the app's codec is used as is when it matches.
        this.codec = app.codec().withMaxMessageBytes(config.maxMessageBytes());
        this.clock = app.clock();
        this.hostname = expandHostname(b.hostname == null ? config.hostname() : b.hostname);
        this.queues = new CopyOnWriteArrayList<>(b.queues.isEmpty() ? List.of(config.defaultQueue()) : b.queues);
        this.poolKind = b.pool == null ? config.pool() : b.pool;
        int n = "solo".equals(poolKind) ? 1 : (b.concurrency > 0 ? b.concurrency : config.concurrency());
        this.concurrency = new AtomicInteger(n);
        this.prefetchMultiplier = b.prefetchMultiplier > 0 ? b.prefetchMultiplier : config.prefetchMultiplier();
        this.slots = new Slots(n);
        this.prefetch = new Slots(n * prefetchMultiplier);
        this.pool = createPool(poolKind);
        this.timer = new ScheduledThreadPoolExecutor(1, named("celeriac-timer", false));
        this.timer.setRemoveOnCancelPolicy(true);
        List<WorkerListener> all = new ArrayList<>(b.listeners);
        if (b.sendEvents != null ? b.sendEvents : config.sendTaskEvents()) {
            all.add(new io.celeriac.events.EventDispatcher(broker, hostname, clock));
        }
        // Each listener is isolated: one that throws must not hold a pool slot or a prefetch permit.
        this.listeners = all.stream().<WorkerListener>map(Guarded::new).toList();
        this.tracer = new TaskTracer(codec, app.interceptors());
        this.completer = new Completer(broker, backend, clock, this::settle, "celeriac-results");
        this.consumer = new Thread(this::consumeLoop, "celeriac-consumer");
        this.dispatcher = new Thread(this::dispatchLoop, "celeriac-dispatch");
        this.createdAt = clock.instant();
        this.maxTasksPerChild = b.maxTasksPerChild >= 0 ? b.maxTasksPerChild : config.maxTasksPerChild();
        this.maxMemoryPerChildKb = b.maxMemoryPerChildKb >= 0 ? b.maxMemoryPerChildKb
                : config.maxMemoryPerChildKb();
    }

    public static Builder builder(Celeriac app) {
        return new Builder(app);
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
            consuming = true;
            dispatching = true;
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
                if (controlSubscription == null) {
                    controlSubscription = subscribeControl();
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

    /**
     * Subscribes to remote control. A broker may register the listener before its subscribe fails (RedisBroker
     * does), so a retried subscription could leave an earlier listener behind: each attempt's listener acts only
     * while it is the live one, so no command is handled twice.
     */
    private AutoCloseable subscribeControl() {
        int attempt = liveControl + 1;
        liveControl = attempt;
        return broker.subscribeBroadcast(m -> {
            if (liveControl == attempt) {
                onControl(m);
            }
        });
    }

    /** A URL fit for logs: the password replaced. */
    static String redact(String url) {
        return url == null ? "?" : url.replaceAll("(://[^:/@]*:)[^@/]*@", "$1***@");
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            log.debug("closing control subscription", e);
        }
    }

    /** Messages taken from the broker whose outcome is not written yet: never more than the prefetch window. */
    public int inFlight() {
        return held.get();
    }

    /** The task behind {@code n} messages is done with: its outcome is written, its message settled. */
    private void settle(int n) {
        held.addAndGet(-n);
        prefetch.release(n);
    }

    // ------------------------------------------------------------------ consuming

    private void consumeLoop() {
        long backoff = 100;
        while (consuming && !draining) {
            if (!giveBack.isEmpty()) {
                giveBackNow();
            }
            int n;
            try {
                // Not acquire(): with every permit held (the result backend down, say) the loop still wakes up to
                // hand back messages it could not settle.
                if (!prefetch.tryAcquire(200, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                n = 1 + prefetch.drainPermits();
            } catch (InterruptedException e) {
                break;
            }
            List<Delivery> got;
            try {
                got = broker.reserve(queues, n, Duration.ofSeconds(1));
                backoff = 100;
            } catch (InterruptedException e) {
                prefetch.release(n);
                break;
            } catch (RuntimeException e) {
                prefetch.release(n);
                if (!consuming) {
                    break;
                }
                log.warn("Cannot reserve from the broker ({}); retrying in {} ms", e.toString(), backoff);
                sleepQuietly(backoff);
                backoff = Math.min(5000, backoff * 2);
                continue;
            }
            held.addAndGet(got.size());
            prefetch.release(n - got.size());
            for (Delivery d : got) {
                try {
                    receive(d);
                } catch (RuntimeException e) {
                    // Never let one message stop the consumer, nor stay reserved here for ever (receive() hands a
                    // message on only as its last step, so it is still ours): broker trouble sends it back to its
                    // queue; anything else would fail again, so it is dead-lettered rather than looped.
                    log.error("Unexpected error receiving a message from {}: {}", d.queue(), e.toString(), e);
                    if (Completer.isUnavailable(e)) {
                        giveBack(d);
                    } else {
                        reject(d, null, null, "refused: the worker failed to receive it: " + e);
                    }
                }
            }
        }
    }

    /**
     * A message we could not settle (consumer thread). It keeps its permit and goes back to its queue after a pause
     * that doubles while settling keeps failing (up to 5 s), so a broker in trouble is not hammered by the same
     * message coming straight back; {@link #giveBackNow} retries the requeue itself while the broker is down.
     */
    private void giveBack(Delivery d) {
        if (giveBack.isEmpty()) {
            giveBackAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(giveBackBackoff);
        }
        giveBack.add(d);
    }

    /** Settling worked again: messages given back from now on return at once. */
    private void settledFine() {
        giveBackBackoff = 100;
    }

    private void giveBackNow() {
        if (System.nanoTime() - giveBackAt < 0) {
            return;
        }
        List<Delivery> list = new ArrayList<>();
        for (Delivery d; (d = giveBack.poll()) != null; ) {
            list.add(d);
        }
        if (list.isEmpty()) {
            return;
        }
        giveBackBackoff = Math.min(5000, giveBackBackoff * 2);
        try {
            broker.requeue(list);
            settle(list.size());
            log.info("Gave {} message(s) back to the broker", list.size());
        } catch (RuntimeException e) {
            giveBack.addAll(list);
            log.warn("Cannot give {} message(s) back to the broker ({}); retrying in {} ms", list.size(),
                    e.toString(), giveBackBackoff);
            giveBackAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(giveBackBackoff);
        }
    }

    private void receive(Delivery d) {
        TaskMessage m;
        try {
            m = codec.decode(d.payload());
        } catch (MessageRejectedException e) {
            reject(d, null, null, e.reason());
            return;
        }
        TaskDefinition def = app.registry().find(m.task()).orElse(null);
        if (def == null) {
            reject(d, m.task(), m.id(), "Received unregistered task of type '" + m.task()
                    + "': no task of that name is registered on " + hostname);
            return;
        }
        TaskRequest tr = new TaskRequest(m.id(), m.task(), m.args(), m.kwargs(), m.retries(), m.eta(),
                m.expires(), m.parentId(), m.rootId(), m.group(), hostname, m.exchange(), m.routingKey(), d.queue(),
                m.extraHeaders());
        Instant now = clock.instant();
        if (revoked.contains(m.id())) {
            log.info("Discarding revoked task: {}[{}]", m.task(), m.id());
            finishRevoked(d, m, tr, def, false, false, true);
            return;
        }
        if (m.expires() != null && now.isAfter(m.expires())) {
            log.info("Discarding expired task: {}[{}] (expired {})", m.task(), m.id(), m.expires());
            revoked.add(m.id());
            finishRevoked(d, m, tr, def, false, true, true);
            return;
        }
        if (m.eta() != null && m.eta().isAfter(now)) {
            // The broker holds scheduled tasks (a sorted set on Redis), so a worker never hoards them in memory.
            log.info("Task {}[{}] received, ETA {}: held by the broker until due", m.task(), m.id(), m.eta());
            try {
                broker.defer(d, m.eta());
            } catch (RuntimeException e) {
                log.warn("Could not hand {}[{}] to the broker's schedule ({}); it goes back to its queue", m.task(),
                        m.id(), e.toString());
                giveBack(d);
                return;
            }
            settledFine();
            settle(1);
            return;
        }
        TaskOptions o = def.options();
        Request r = new Request(d, m, def, tr,
                o.acksLate().orElse(config.acksLate()),
                m.ignoreResult() || o.ignoreResult().orElse(config.ignoreResult()),
                o.trackStarted().orElse(config.trackStarted()),
                limit(m.softTimeLimit(), o.softTimeLimit(), config.softTimeLimit()),
                limit(m.timeLimit(), o.timeLimit(), config.timeLimit()),
                now);
        reserved.put(m.id(), r);
        log.info("Task {} received", r.label());
        for (WorkerListener l : listeners) {
            l.taskReceived(tr);
        }
        ready.add(r);
    }

    private static Duration limit(Double fromMessage, Optional<Duration> fromTask, Optional<Duration> fromConfig) {
        if (fromMessage != null) {
            return Duration.ofNanos(Math.round(fromMessage * 1e9));
        }
        return fromTask.or(() -> fromConfig).orElse(null);
    }

    /** Sends a message that cannot run to the dead-letter queue and keeps going (consumer thread). */
    private void reject(Delivery d, String task, String id, String reason) {
        try {
            broker.deadLetter(d, reason);
        } catch (RuntimeException e) {
            log.error("Could not move a message from queue '{}'{} to the dead-letter queue ({}); it goes back to its "
                    + "queue and is tried again", d.queue(), id == null ? "" : " " + task + "[" + id + "]",
                    e.toString());
            giveBack(d);
            return;
        }
        settledFine();
        settle(1);
        logRejected(d, task, id, reason);
    }

    private void logRejected(Delivery d, String task, String id, String reason) {
        log.error("Rejecting message from queue '{}'{}: {}. It was moved to the dead-letter queue.", d.queue(),
                id == null ? "" : " " + task + "[" + id + "]", reason);
        for (WorkerListener l : listeners) {
            l.taskRejected(d.queue(), task, id, reason);
        }
    }

    // ------------------------------------------------------------------ dispatching

    private void dispatchLoop() {
        while (dispatching) {
            Request r;
            try {
                r = ready.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (r == null || r.state.get() != RESERVED) {
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
            if (!dispatching || draining) {
                slots.release();
                ready.addFirst(r);
                if (draining) {
                    continue;
                }
                break;
            }
            try {
                pool.execute(() -> run(r));
            } catch (RuntimeException e) {
                slots.release();
                ready.addFirst(r);
                log.error("Pool refused a task: {}", e.toString());
            }
        }
    }

    private long rateLimitWait(Request r) {
        String name = r.message.task();
        Optional<RateLimit> limit = rateLimits.computeIfAbsent(name, n -> r.definition.options().rateLimit()
                .or(() -> config.defaultRateLimit().map(RateLimit::parse)));
        if (limit.isEmpty()) {
            return 0;
        }
        long now = System.nanoTime();
        TokenBucket bucket = buckets.computeIfAbsent(name, n -> new TokenBucket(limit.get(), now));
        return bucket.tryTake(now);
    }

    // ------------------------------------------------------------------ executing

    /**
     * A pool thread's job. Task code cannot get here (the tracer catches whatever it throws); this catches a fault of
     * the worker itself, so that it fails the one task and never keeps a pool slot or a prefetch permit.
     */
    private void run(Request r) {
        try {
            execute(r);
        } catch (Throwable t) {
            log.error("Internal error running {}: {}", r.label(), t.toString(), t);
            if (r.state.compareAndSet(RUNNING, DONE) || r.state.compareAndSet(RESERVED, DONE)) {
                active.remove(r.message.id());
                reserved.remove(r.message.id());
                slots.release();
            }
            if (!r.finished) {
                finishItem(r, null, failureDocument(r, t), null, r.acksLate ? r.delivery : Completer.copy(r.delivery),
                        "refused: the worker failed while running it: " + t);
            }
            if (t instanceof VirtualMachineError e) {
                throw e;
            }
        }
    }

    private void execute(Request r) {
        if (!r.state.compareAndSet(RESERVED, RUNNING)) {
            slots.release();
            return;
        }
        String id = r.message.id();
        reserved.remove(id);
        Instant now = clock.instant();
        // Checked again right before the task starts, as Celery does (Request.execute_using_pool): a request can wait
        // a long time for a slot or a rate-limit token after it was received.
        boolean expired = r.message.expires() != null && now.isAfter(r.message.expires());
        if (expired || revoked.contains(id)) {
            r.state.set(DONE);
            slots.release();
            if (expired) {
                log.info("Discarding expired task: {} (expired {})", r.label(), r.message.expires());
                revoked.add(id);
            } else {
                log.info("Discarding revoked task: {}", r.label());
            }
            finishRevoked(r.delivery, r.message, r.request, r.definition, false, expired, true);
            r.finished = true;
            return;
        }
        active.put(id, r);
        r.thread = Thread.currentThread();
        r.startNanos = System.nanoTime();
        r.startedAt = now;
        if (!r.acksLate) {
            completer.add(null, null, r.delivery);
        }
        if (r.trackStarted && !r.ignoreResult) {
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("pid", Celeriac.pid());
            meta.put("hostname", hostname);
            completer.add(null, document(r, TaskState.STARTED, meta, null), null);
        }
        for (WorkerListener l : listeners) {
            l.taskStarted(r.request);
        }
        scheduleLimits(r);
        TaskContext ctx = new TaskContext(r.request, r.definition.options(),
                (state, meta) -> completer.add(null, document(r, state, meta, null), null),
                () -> r.softExceeded);
        TaskRequest previous = CurrentTask.set(r.request);
        Outcome outcome;
        try {
            outcome = tracer.run(r.definition, ctx);
        } finally {
            CurrentTask.set(previous);
            if (r.softTimer != null) {
                r.softTimer.cancel(false);
            }
            if (r.hardTimer != null) {
                r.hardTimer.cancel(false);
            }
        }
        if (!r.state.compareAndSet(RUNNING, DONE)) {
            // The hard time limit or a terminate already finished this request and gave its slot away.
            abandoned.decrementAndGet();
            Thread.interrupted();
            log.warn("Abandoned thread of {} returned after {} s; its outcome is discarded", r.label(),
                    String.format("%.3f", (System.nanoTime() - r.startNanos) / 1e9));
            return;
        }
        Thread.interrupted(); // clear an interrupt from a soft limit so the pool thread starts clean
        active.remove(id);
        Duration runtime = Duration.ofNanos(System.nanoTime() - r.startNanos);
        countProcessed(r);
        // Decided before the slot is released, so no further task starts once the limit is reached; the shutdown
        // starts after this task's result is queued for writing.
        String recycle = recycleReason();
        slots.release();
        finish(r, outcome, runtime);
        if (recycle != null) {
            log.warn("{}: {}; shutting down so the supervisor starts a fresh worker", hostname, recycle);
            new Thread(() -> shutdown(Duration.ofSeconds(30)), "celeriac-recycle").start();
        }
    }

    /**
     * {@code --max-tasks-per-child} / {@code --max-memory-per-child}: a JVM cannot give one pool thread's memory
     * back, so the whole worker stops consuming and exits cleanly (warm shutdown) for its supervisor (systemd,
     * Kubernetes) to start a fresh process.
     */
    private String recycleReason() {
        String why = null;
        if (maxTasksPerChild > 0 && processedTotal.get() >= maxTasksPerChild) {
            why = "max tasks per child (" + maxTasksPerChild + ") reached";
        } else if (maxMemoryPerChildKb > 0) {
            Runtime rt = Runtime.getRuntime();
            long usedKb = (rt.totalMemory() - rt.freeMemory()) / 1024;
            if (usedKb > maxMemoryPerChildKb) {
                why = "heap in use " + usedKb + " KiB exceeds max memory per child (" + maxMemoryPerChildKb + " KiB)";
            }
        }
        if (why != null && recycling.compareAndSet(false, true)) {
            draining = true;
            return why;
        }
        return null;
    }

    private void countProcessed(Request r) {
        processed.computeIfAbsent(r.message.task(), k -> new LongAdder()).increment();
        processedTotal.incrementAndGet();
    }

    private void scheduleLimits(Request r) {
        if (r.softLimit != null && (r.hardLimit == null || r.softLimit.compareTo(r.hardLimit) < 0)) {
            r.softTimer = timer.schedule(() -> {
                if (r.state.get() == RUNNING) {
                    log.warn("Soft time limit ({} s) exceeded for {}", seconds(r.softLimit), r.label());
                    r.softExceeded = true;
                    r.thread.interrupt();
                }
            }, r.softLimit.toNanos(), TimeUnit.NANOSECONDS);
        }
        if (r.hardLimit != null) {
            r.hardTimer = timer.schedule(() -> hardLimit(r), r.hardLimit.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void hardLimit(Request r) {
        if (!r.state.compareAndSet(RUNNING, DONE)) {
            return;
        }
        Thread t = r.thread;
        abandoned.incrementAndGet();
        active.remove(r.message.id());
        log.error("Hard time limit ({} s) exceeded for {}: the task is marked FAILURE and its slot given to a new "
                + "thread. A JVM thread cannot be killed: {} was interrupted and abandoned, and keeps running until "
                + "the task code returns ({} abandoned now).", seconds(r.hardLimit), r.label(),
                t == null ? "its thread" : t.getName(), abandoned.get());
        if (t != null) {
            t.interrupt();
        }
        countProcessed(r);
        slots.release();
        TimeLimitExceeded e = new TimeLimitExceeded("TimeLimitExceeded(" + seconds(r.hardLimit) + ")");
        finish(r, new Outcome.Failure(e), Duration.ofNanos(System.nanoTime() - r.startNanos));
    }

    private static String seconds(Duration d) {
        double s = d.toNanos() / 1e9;
        return s == Math.rint(s) ? Long.toString((long) s) : Double.toString(s);
    }

    /**
     * Queues the request's last write (result, then ack or dead letter); its prefetch permit comes back once that is
     * written. Exactly one per request.
     */
    private void finishItem(Request r, OutboundMessage publish, ResultDocument result, Delivery ack,
                            Delivery deadLetter, String reason) {
        completer.finish(r.delivery, publish, result, ack, deadLetter, reason, uniqueKey(r.message));
        r.finished = true;
    }

    private void finish(Request r, Outcome outcome, Duration runtime) {
        Delivery ack = r.acksLate ? r.delivery : null;
        if (outcome instanceof Outcome.Success s) {
            trace.info("Task {} succeeded in {}s: {}", r.label(), String.format("%.6f", runtime.toNanos() / 1e9),
                    abbreviate(PythonRepr.value(s.value())));
            finishItem(r, null, r.ignoreResult ? null : document(r, TaskState.SUCCESS, s.value(), null), ack, null,
                    null);
            for (WorkerListener l : listeners) {
                l.taskSucceeded(r.request, s.value(), runtime);
            }
        } else if (outcome instanceof Outcome.Retry retry) {
            retryTask(r, retry, ack);
        } else if (outcome instanceof Outcome.Failure f) {
            Throwable e = f.error();
            trace.error("Task {} raised unexpected: {}", r.label(), pythonStyle(e), e);
            if (ack != null && !config.acksOnFailureOrTimeout()) {
                // Celery's Request.on_failure: acks late without acks_on_failure_or_timeout rejects the message
                // without requeue (reject(requeue=False)), so it does not run again in a loop. Our reject without
                // requeue is the dead-letter queue, where it can be looked at and requeued after a fix.
                String reason = "Task " + r.label() + " failed and task_acks_on_failure_or_timeout is off: rejected "
                        + "without requeue: " + pythonStyle(e);
                finishItem(r, null, failureDocument(r, e), null, r.delivery, reason);
                for (WorkerListener l : listeners) {
                    l.taskFailed(r.request, e, runtime);
                }
                logRejected(r.delivery, r.message.task(), r.message.id(), reason);
                return;
            }
            finishItem(r, null, failureDocument(r, e), ack, null, null);
            for (WorkerListener l : listeners) {
                l.taskFailed(r.request, e, runtime);
            }
        } else if (outcome instanceof Outcome.Rejected rejected) {
            Throwable e = rejected.error();
            // Already acked on start (acks early): keep a copy in the dead-letter queue all the same.
            finishItem(r, null, failureDocument(r, e), null, r.acksLate ? r.delivery : Completer.copy(r.delivery),
                    e.getMessage());
            logRejected(r.delivery, r.message.task(), r.message.id(), e.getMessage());
            for (WorkerListener l : listeners) {
                l.taskFailed(r.request, e, runtime);
            }
        }
    }

    private void retryTask(Request r, Outcome.Retry retry, Delivery ack) {
        Instant eta = clock.instant().plus(retry.countdown());
        TaskMessage next = r.message.toBuilder()
                .retries(r.message.retries() + 1)
                .eta(eta)
                .deliveryTag(UUID.randomUUID().toString())
                .build();
        OutboundMessage out = new OutboundMessage(r.delivery.queue(), r.delivery.priority(), codec.encode(next),
                next.id(), eta);
        Throwable reason = retry.reason();
        String why = "Retry in " + RetryException.formatSeconds(retry.countdown())
                + (reason == null ? "" : ": " + pythonStyle(reason));
        trace.info("Task {} retry: {}", r.label(), why);
        ResultDocument doc = r.ignoreResult ? null : new ResultDocument(r.message.id(), TaskState.RETRY,
                reason == null ? ResultCodec.exceptionResult("Retry", "celery.exceptions", why)
                        : TaskTracer.exceptionResult(reason),
                reason == null ? null : TaskTracer.traceback(reason), List.of(), clock.instant(),
                r.message.parentId(), Map.of());
        // Published before the original is acked (Completer keeps that order): a crash in between runs it twice,
        // never zero times.
        finishItem(r, out, doc, ack, null, null);
        for (WorkerListener l : listeners) {
            l.taskRetried(r.request, reason, retry.countdown());
        }
    }

    /** The broker key of a unique task, released when it is done (not when it is retried). */
    private static String uniqueKey(TaskMessage m) {
        return Boolean.TRUE.equals(m.extraHeaders().get(Celeriac.UNIQUE_HEADER)) ? Celeriac.UNIQUE_KEY_PREFIX + m.id()
                : null;
    }

    private ResultDocument failureDocument(Request r, Throwable e) {
        return new ResultDocument(r.message.id(), TaskState.FAILURE, TaskTracer.exceptionResult(e),
                TaskTracer.traceback(e), List.of(), clock.instant(), r.message.parentId(), Map.of());
    }

    private ResultDocument document(Request r, String state, Object result, String traceback) {
        return new ResultDocument(r.message.id(), state, result, traceback, List.of(), clock.instant(),
                r.message.parentId(), Map.of());
    }

    private void finishRevoked(Delivery d, TaskMessage m, TaskRequest tr, TaskDefinition def, boolean terminated,
                               boolean expired, boolean ack) {
        boolean ignore = def != null && def.options().ignoreResult().orElse(config.ignoreResult());
        ResultDocument doc = ignore ? null : new ResultDocument(tr.id(), TaskState.REVOKED,
                ResultCodec.exceptionResult("TaskRevokedError", "celery.exceptions",
                        expired ? "expired" : terminated ? "terminated" : "revoked"),
                null, List.of(), clock.instant(), tr.parentId(), Map.of());
        completer.finish(d, null, doc, ack ? d : null, null, null, uniqueKey(m));
        for (WorkerListener l : listeners) {
            l.taskRevoked(tr, terminated, expired);
        }
    }

    static String pythonStyle(Throwable e) {
        String msg = e.getMessage();
        return e.getClass().getSimpleName() + "(" + (msg == null ? "" : PythonRepr.value(msg)) + ")";
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 197) + "..." : s;
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ control

    /** Marks ids revoked; reserved ones are dropped now, and with {@code terminate} running ones are interrupted. */
    public void revoke(Collection<String> ids, boolean terminate) {
        for (String id : ids) {
            revoked.add(id);
            Request r = reserved.get(id);
            if (r != null && r.state.compareAndSet(RESERVED, DONE)) {
                reserved.remove(id);
                log.info("Discarding revoked task: {}", r.label());
                finishRevoked(r.delivery, r.message, r.request, r.definition, false, false, true);
                r.finished = true;
            }
            Request running = active.get(id);
            if (terminate && running != null && running.state.compareAndSet(RUNNING, DONE)) {
                active.remove(id);
                abandoned.incrementAndGet();
                Thread t = running.thread;
                log.warn("Terminating {}: its thread {} is interrupted (a JVM thread cannot be killed)",
                        running.label(), t == null ? "?" : t.getName());
                if (t != null) {
                    t.interrupt();
                }
                countProcessed(running);
                slots.release();
                finishRevoked(running.delivery, running.message, running.request, running.definition, true, false,
                        running.acksLate);
                running.finished = true;
            }
        }
    }

    /** Ids this worker holds as revoked. */
    public List<String> revokedIds() {
        return revoked.list();
    }

    /** Changes a task's rate limit at run time; null or "0" removes it. */
    public void setRateLimit(String task, String rate) {
        Optional<RateLimit> limit = rate == null || rate.isBlank() || rate.equals("0")
                ? Optional.empty() : Optional.of(RateLimit.parse(rate));
        rateLimits.put(task, limit);
        buckets.remove(task);
    }

    public void growPool(int n) {
        concurrency.addAndGet(n);
        slots.release(n);
        prefetch.release(n * prefetchMultiplier);
    }

    public void shrinkPool(int n) {
        int by = Math.min(n, concurrency.get() - 1);
        if (by <= 0) {
            return;
        }
        concurrency.addAndGet(-by);
        slots.shrink(by);
        prefetch.shrink(by * prefetchMultiplier);
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
        if (!m.isFor(hostname)) {
            return null;
        }
        Map<String, Object> a = m.arguments();
        switch (m.method()) {
            case "ping":
                return Map.of("ok", "pong");
            case "hello":
                return Map.of("revoked", Map.of(), "clock", 0);
            case "active":
                return active.values().stream().map(r -> info(r, true)).toList();
            case "reserved":
                return reserved.values().stream().map(r -> info(r, false)).toList();
            case "scheduled":
                // ETA tasks are held by the broker, not by the worker, so a worker has none to report.
                return List.of();
            case "registered":
                return new ArrayList<>(app.registry().names());
            case "revoked":
                return revoked.list();
            case "stats":
                return stats();
            case "active_queues":
                return queues.stream().map(q -> Map.<String, Object>of("name", q, "exchange",
                        Map.of("name", q, "type", "direct"), "routing_key", q)).toList();
            case "revoke":
            case "terminate": {
                // Celery's `terminate <signal> <id>` is revoke with terminate=True.
                Object ids = a.get("task_id");
                List<String> list = new ArrayList<>();
                if (ids instanceof Collection<?> c) {
                    c.forEach(x -> list.add(String.valueOf(x)));
                } else if (ids != null) {
                    list.add(String.valueOf(ids));
                }
                boolean terminate = m.method().equals("terminate") || Boolean.TRUE.equals(a.get("terminate"));
                List<String> running = list.stream().filter(active::containsKey).toList();
                revoke(list, terminate);
                if (terminate) {
                    return Map.of("ok", running.isEmpty() ? "terminate: tasks unknown"
                            : "terminate: " + String.join(", ", running));
                }
                return Map.of("ok", "tasks " + String.join(", ", list) + " flagged as revoked");
            }
            case "rate_limit": {
                String task = String.valueOf(a.get("task_name"));
                Object rate = a.get("rate_limit");
                if (app.registry().find(task).isEmpty()) {
                    return Map.of("error", "unknown task " + task);
                }
                setRateLimit(task, rate == null ? null : rate.toString());
                return Map.of("ok", "new rate limit set successfully");
            }
            case "pool_grow":
                growPool(intArg(a.get("n")));
                return Map.of("ok", "pool will grow");
            case "pool_shrink":
                shrinkPool(intArg(a.get("n")));
                return Map.of("ok", "pool will shrink");
            case "add_consumer":
                addConsumer(String.valueOf(a.get("queue")));
                return Map.of("ok", "add consumer " + a.get("queue"));
            case "cancel_consumer":
                cancelConsumer(String.valueOf(a.get("queue")));
                return Map.of("ok", "no longer consuming from " + a.get("queue"));
            case "shutdown":
                Thread t = new Thread(() -> shutdown(Duration.ofSeconds(30)), "celeriac-remote-shutdown");
                t.setDaemon(false);
                t.start();
                return Map.of("ok", "shutting down");
            default:
                return null;
        }
    }

    private static int intArg(Object v) {
        return v == null ? 1 : ((Number) (v instanceof Number ? v : Integer.parseInt(v.toString()))).intValue();
    }

    private void onControl(ControlMessage m) {
        try {
            Object answer = control(m);
            if (answer != null && m.replyTo() != null) {
                broker.reply(m, hostname, answer);
            }
        } catch (RuntimeException e) {
            log.warn("Control command {} failed: {}", m.method(), e.toString());
            if (m.replyTo() != null && m.isFor(hostname)) {
                broker.reply(m, hostname, Map.of("error", e.toString()));
            }
        }
    }

    /** A request as Celery's {@code inspect active/reserved} shows it. */
    private Map<String, Object> info(Request r, boolean running) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.message.id());
        m.put("name", r.message.task());
        m.put("args", r.message.args());
        m.put("kwargs", r.message.kwargs());
        m.put("type", r.message.task());
        m.put("hostname", hostname);
        m.put("time_start", running && r.startedAt != null ? r.startedAt.toEpochMilli() / 1000.0 : null);
        m.put("acknowledged", running && !r.acksLate);
        Map<String, Object> delivery = new LinkedHashMap<>();
        delivery.put("exchange", r.message.exchange());
        delivery.put("routing_key", r.message.routingKey());
        delivery.put("priority", r.message.priority());
        delivery.put("redelivered", false);
        m.put("delivery_info", delivery);
        m.put("worker_pid", Celeriac.pid());
        return m;
    }

    /** Celery's {@code inspect stats} subset that tools read. */
    public Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("total", processed());
        m.put("pid", Celeriac.pid());
        m.put("uptime", Duration.between(createdAt, clock.instant()).toSeconds());
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("max-concurrency", concurrency.get());
        pool.put("implementation", "celeriac:" + poolKind);
        pool.put("abandoned-threads", abandoned.get());
        m.put("pool", pool);
        m.put("prefetch_count", concurrency.get() * prefetchMultiplier);
        m.put("broker", Map.of("transport", config.brokerUrl().replaceAll("://.*", "")));
        m.put("sw_ident", "celeriac");
        return m;
    }

    // ------------------------------------------------------------------ inspection

    /** Requests running now. */
    public List<TaskRequest> active() {
        return active.values().stream().map(r -> r.request).toList();
    }

    /** Requests received and waiting for a slot (or a rate-limit token). */
    public List<TaskRequest> reserved() {
        return reserved.values().stream().map(r -> r.request).toList();
    }

    /** Tasks run so far by name (Celery's {@code stats()['total']}). */
    public Map<String, Long> processed() {
        Map<String, Long> out = new java.util.TreeMap<>();
        processed.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    public long processedTotal() {
        return processedTotal.get();
    }

    /** Threads abandoned at a hard time limit or terminate that have not returned yet. */
    public int abandonedThreads() {
        return abandoned.get();
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
        log.info("{}: warm shutdown, {} running task(s) may finish within {} s", hostname, active.size(),
                grace.toSeconds());
        stopConsuming();
        while (!active.isEmpty() && System.nanoTime() < deadline && !coldRequested) {
            sleepQuietly(10);
        }
        if (!active.isEmpty()) {
            log.warn("{}: {} task(s) still running {}: cold shutdown", hostname, active.size(),
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
        consuming = false;
        consumer.interrupt();
        joinQuietly(consumer);
        dispatching = false;
        dispatcher.interrupt();
        joinQuietly(dispatcher);
        List<Delivery> back = new ArrayList<>();
        for (Request r : new ArrayList<>(reserved.values())) {
            if (r.state.compareAndSet(RESERVED, DONE)) {
                reserved.remove(r.message.id());
                back.add(r.delivery);
            }
        }
        ready.clear();
        for (Delivery d; (d = this.giveBack.poll()) != null; ) {
            back.add(d);
        }
        if (!back.isEmpty()) {
            try {
                broker.requeue(back);
                log.info("{}: gave {} reserved message(s) back to the broker", hostname, back.size());
            } catch (RuntimeException e) {
                log.error("{}: could not requeue {} reserved message(s) ({}); they return after the visibility "
                        + "timeout", hostname, back.size(), e.toString());
            }
            settle(back.size());
        }
        closeQuietly(controlSubscription);
    }

    private void terminateRunning() {
        List<Delivery> back = new ArrayList<>();
        for (Request r : new ArrayList<>(active.values())) {
            if (r.state.compareAndSet(RUNNING, DONE)) {
                active.remove(r.message.id());
                abandoned.incrementAndGet();
                if (r.thread != null) {
                    r.thread.interrupt();
                }
                if (r.acksLate) {
                    back.add(r.delivery);
                }
            }
        }
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
        log.info("{}: stopped after {} task(s)", hostname, processedTotal.get());
    }

    /** Blocks until the worker has stopped (by {@link #shutdown}, {@link #shutdownNow} or a remote shutdown). */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static void joinQuietly(Thread t) {
        if (!t.isAlive()) {
            return;
        }
        try {
            t.join(5000);
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
        private final Celeriac app;
        private final List<String> queues = new ArrayList<>();
        private int concurrency;
        private int prefetchMultiplier;
        private String pool;
        private String hostname;
        private final List<WorkerListener> listeners = new ArrayList<>();
        private Boolean sendEvents;
        private int maxTasksPerChild = -1;
        private long maxMemoryPerChildKb = -1;

        private Builder(Celeriac app) {
            this.app = app;
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

        public Worker build() {
            return new Worker(this);
        }

        /** Builds and starts. */
        public Worker start() {
            return build().start();
        }
    }
}
