package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.ReconnectBackoff;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.PythonLiteral;
import io.celeriac.task.SendOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Flower's job for Celeriac: watches the event stream, the broker and the result backend, keeps a bounded task
 * history that survives restarts, and serves a web UI, a JSON API and Prometheus metrics. Workers of Celeriac and of
 * Python Celery on the same broker show alike.
 *
 * <p>It starts whether or not the broker answers: the web server comes up at once, and loading the saved history and
 * subscribing to events are retried in the background with backoff ({@link ReconnectBackoff}) until Redis answers;
 * meanwhile pages load, and API calls that need the broker answer {@code 503}.
 *
 * <p>It needs nothing of the broker beyond the {@code Broker} SPI, so it runs on any transport: queue lengths, purge
 * and dead letters through {@code queueLength}, {@code purge} and {@code deadLetterQueue()}, events through
 * {@code eventBus()}, the worker poll and control actions through {@code controlBus()}. A broker without an event
 * bus or a control bus leaves out what needs it, and says so once in the log and on every page
 * ({@link #notices()}); control actions then answer {@code 501} with the reason.
 *
 * <pre>{@code
 * Dashboard d = Dashboard.builder(app).scheduleStore(store).user("ops", "s3cret", Role.ADMIN).port(5555).build();
 * d.start();
 * }</pre>
 */
public final class Dashboard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Dashboard.class);
    /** How often workers are asked for {@code stats} and {@code active_queues}. */
    private static final double POLL_SECONDS = 5;
    /** Events held while the dashboard catches up (a few hundred MB at most). */
    private static final int MAX_WAITING = 500_000;

    private final Celeriac app;
    private final ScheduleStore schedules;
    private final TaskHistory history;
    private final HistoryStore historyStore;
    private final WorkerRegistry workers = new WorkerRegistry();
    private final Charts charts = new Charts();
    private final DashboardMetrics metrics;
    private final Users users;
    private final String generatedPassword;
    private final String host;
    private final int requestedPort;
    private final Clock clock;
    private final Set<String> queues = new CopyOnWriteArraySet<>();
    /** What this dashboard cannot do or keep, for the log and the pages' banner. */
    private final List<String> notices;
    private final ConcurrentLinkedQueue<Map<String, Object>> inbox = new ConcurrentLinkedQueue<>();
    /** Events waiting in {@link #inbox} (its size() is a walk of the queue). */
    private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(3, r -> {
        Thread t = new Thread(r, "celeriac-dashboard");
        t.setDaemon(true);
        return t;
    });
    private volatile DashboardServer server;
    private final LiveStream stream = new LiveStream();
    private AutoCloseable subscription;
    private final ReconnectBackoff backoff = new ReconnectBackoff(log);
    private volatile boolean historyLoaded;
    private volatile boolean closed;
    /** True once events are subscribed to; until then the broker polls are skipped rather than failing every time. */
    private volatile boolean connected;
    /** The listener of the subscription attempt in force; listeners of attempts that failed ignore events. */
    private final java.util.concurrent.atomic.AtomicReference<Object> currentListener =
            new java.util.concurrent.atomic.AtomicReference<>();

    private Dashboard(Builder b) {
        this.app = b.app;
        this.schedules = b.schedules;
        List<String> notes = new ArrayList<>();
        this.historyStore = b.resolveHistoryStore(notes);
        this.clock = b.app.clock();
        // Loaded in start()'s connect step, which retries while the store (the broker's Redis) is down.
        this.history = new TaskHistory(b.historySize, historyStore, false);
        this.host = b.host;
        this.requestedPort = b.port;
        this.users = b.users;
        if (!users.hasAdmin()) {
            generatedPassword = Users.randomToken(15);
            users.add("admin", generatedPassword, Role.ADMIN);
        } else {
            generatedPassword = null;
        }
        this.metrics = new DashboardMetrics(() -> workers.onlineCount(now()), dropped::get);
        queues.add(app.config().defaultQueue());
        queues.addAll(b.queues);
        String broker = app.broker().getClass().getSimpleName();
        if (app.broker().eventBus().isEmpty()) {
            notes.add("The broker (" + broker + ") carries no Celery events: tasks and workers do not show live. "
                    + "Queues, dead letters and the saved history do.");
        }
        if (app.broker().controlBus().isEmpty()) {
            notes.add("The broker (" + broker + ") carries no remote control: workers are not polled, and revoke, "
                    + "rate limits, pool resize and shutdown are unavailable.");
        }
        this.notices = List.copyOf(notes);
    }

    public static Builder builder(Celeriac app) {
        return new Builder(app);
    }

    /**
     * Starts the web server and the background work, and connects: loads the saved history and subscribes to
     * events, now if the broker answers, else retrying in the background. Returns once the server listens.
     */
    public synchronized Dashboard start() {
        if (server != null) {
            return this;
        }
        notices.forEach(n -> log.warn("dashboard: {}", n));
        connect();
        timers.scheduleWithFixedDelay(guard(this::drainEvents), 100, 100, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(guard(history::flush), 500, 500, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(whenConnected(this::sampleQueues), 0, 5, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(whenConnected(this::pollWorkers), 200, (long) (POLL_SECONDS * 1000),
                TimeUnit.MILLISECONDS);
        server = new DashboardServer(this, users, stream);
        server.start(host, requestedPort);
        DashboardServer s = server;
        timers.scheduleWithFixedDelay(guard(s::housekeeping), 15, 15, TimeUnit.SECONDS);
        log.info("dashboard: http://{}:{}/", host, server.port());
        if (!isLoopback(host)) {
            log.warn("dashboard: listening on {} over plain HTTP; put a TLS proxy in front of it", host);
        }
        return this;
    }

    private static boolean isLoopback(String host) {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /**
     * One connection attempt: the saved history first (so that events land on top of it), then the event
     * subscription. On failure, logs why and tries again after a backoff.
     */
    private synchronized void connect() {
        if (closed) {
            return;
        }
        String step = historyLoaded ? brokerName() : "the task history store";
        try {
            if (!historyLoaded) {
                history.loadSaved();
                historyLoaded = true;
                history.scan(r -> {
                    if (r.queue() != null) {
                        queues.add(r.queue());
                    }
                });
            }
            step = brokerName();
            // Without an event bus there is nothing to subscribe to, and retrying would not make one: the rest of
            // the dashboard works on (notices() says what is missing).
            if (app.broker().eventBus().isPresent()) {
                subscription = subscribe();
            }
            connected = true;
            backoff.succeeded();
        } catch (RuntimeException e) {
            Duration wait = backoff.failed(step, e);
            try {
                timers.schedule(this::connect, wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // close() ran meanwhile: nothing more to connect.
            }
        }
    }

    /**
     * Subscribes with a listener of this attempt's own. A broker may keep the listener of a subscription that
     * failed (RedisBroker registers it before it subscribes); such leftovers must not deliver every event again
     * once a later attempt succeeds, so each listener checks that it is the one in force.
     */
    private AutoCloseable subscribe() {
        Object token = new Object();
        currentListener.set(token);
        return app.broker().eventBus().orElseThrow(() -> new UnsupportedOperationException("the dashboard needs a "
                + "broker that carries Celery's events")).subscribe(e -> {
            if (currentListener.get() == token) {
                receive(e);
            }
        });
    }

    private String brokerName() {
        return "the broker at " + ReconnectBackoff.redact(app.config().brokerUrl());
    }

    /**
     * What this dashboard cannot do or keep with the broker and history store it has (no events, no remote control,
     * a history in memory only), one sentence each; empty when nothing is missing. Shown on every page.
     */
    public List<String> notices() {
        return notices;
    }

    /** True once the dashboard has its saved history and receives events (or the broker has none to receive). */
    public boolean connected() {
        return connected;
    }

    /**
     * A broker poll that waits for the connection; after that, a broker outage is logged once when it starts, not
     * every few seconds while it lasts (the event subscription and the API calls say the rest).
     */
    private Runnable whenConnected(Runnable r) {
        boolean[] failing = {false};
        return () -> {
            if (!connected) {
                return;
            }
            try {
                r.run();
                failing[0] = false;
            } catch (BrokerUnavailableException e) {
                if (!failing[0]) {
                    log.warn("dashboard: {}", e.getMessage());
                }
                failing[0] = true;
            } catch (RuntimeException e) {
                log.warn("dashboard: {}", e.toString());
            }
        };
    }

    private Runnable guard(Runnable r) {
        return () -> {
            try {
                r.run();
            } catch (RuntimeException e) {
                log.warn("dashboard: {}", e.toString());
            }
        };
    }

    /** The port the server listens on (useful with port 0). */
    public int port() {
        return server == null ? requestedPort : server.port();
    }

    public String host() {
        return host;
    }

    /** The password made up for user {@code admin} when no admin was configured, to be shown once at start. */
    public Optional<String> generatedPassword() {
        return Optional.ofNullable(generatedPassword);
    }

    public TaskHistory history() {
        return history;
    }

    /** Where the history is written behind (the one given, or the one {@code historyUrl} named). */
    HistoryStore historyStore() {
        return historyStore;
    }

    Celeriac app() {
        return app;
    }

    double now() {
        return clock.millis() / 1000.0;
    }

    // ------------------------------------------------------------------ watching

    /**
     * Takes an event from the broker's thread. Bounded: if the dashboard falls this far behind a burst, it drops
     * events (and counts them) rather than the process.
     */
    private void receive(Map<String, Object> event) {
        if (waiting.incrementAndGet() > MAX_WAITING) {
            waiting.decrementAndGet();
            if (dropped.incrementAndGet() % 10_000 == 1) {
                log.warn("dashboard: {} events dropped so far: the event stream outruns the dashboard", dropped.get());
            }
            return;
        }
        inbox.add(event);
    }

    /** Folds queued events into the history, the worker list and the metrics, until none is waiting. */
    void drainEvents() {
        while (drainBatch()) {
            // a burst: keep going without waiting for the next tick
        }
    }

    private boolean drainBatch() {
        List<Map<String, Object>> batch = new ArrayList<>();
        for (Map<String, Object> e; batch.size() < 10_000 && (e = inbox.poll()) != null; ) {
            batch.add(e);
        }
        waiting.addAndGet(-batch.size());
        if (batch.isEmpty()) {
            return false;
        }
        double now = now();
        boolean workersChanged = false;
        List<Map<String, Object>> taskEvents = new ArrayList<>();
        for (Map<String, Object> e : batch) {
            if (workers.apply(e, now)) {
                workersChanged = true;
            } else {
                taskEvents.add(e);
            }
        }
        List<TaskRecord> changed = history.apply(taskEvents, now);
        Map<String, String> names = new java.util.HashMap<>();
        changed.forEach(r -> names.put(r.id(), r.name()));
        for (Map<String, Object> e : taskEvents) {
            Object id = e.get("uuid");
            String name = id == null ? null : names.get(String.valueOf(id));
            String type = String.valueOf(e.get("type"));
            metrics.task(name, type.startsWith("task-") ? type.substring(5) : type);
            if (type.equals("task-succeeded") && e.get("runtime") instanceof Number rt) {
                metrics.runtime(name, rt.doubleValue());
            }
        }
        for (TaskRecord r : changed) {
            if (r.queue() != null) {
                queues.add(r.queue());
            }
        }
        stream.push(changed, workersChanged);
        return batch.size() == 10_000;
    }

    private void sampleQueues() {
        double now = now();
        for (String q : queues) {
            long n = app.broker().queueLength(q);
            charts.sampleQueue(q, now, n);
            metrics.queueLength(q, n);
        }
        metrics.deadLetters(deadLetterCount());
    }

    /** Asks every worker for its pool size and queues: worker events don't carry them. */
    private void pollWorkers() {
        if (app.broker().controlBus().isEmpty()) {
            return;
        }
        Duration wait = Duration.ofSeconds(1);
        double now = now();
        for (Map<String, Object> reply : app.controlBus("the dashboard's worker list").broadcastAndCollect(
                new ControlMessage("stats", Map.of(), List.of(), null, null), wait)) {
            reply.forEach((h, v) -> {
                if (v instanceof Map<?, ?> m) {
                    workers.applyStats(h, m, now, POLL_SECONDS);
                }
            });
        }
        for (Map<String, Object> reply : app.controlBus("the dashboard's worker list").broadcastAndCollect(
                new ControlMessage("active_queues", Map.of(), List.of(), null, null), wait)) {
            reply.forEach((h, v) -> {
                if (v instanceof List<?> l) {
                    workers.applyQueues(h, l);
                    l.forEach(q -> {
                        if (q instanceof Map<?, ?> m && m.get("name") != null) {
                            queues.add(String.valueOf(m.get("name")));
                        }
                    });
                }
            });
        }
    }

    // ------------------------------------------------------------------ reading

    public List<WorkerInfo> workers() {
        return workers.list(now());
    }

    /**
     * Queues with their waiting messages, consumers and per-minute rates. {@code consumerCount} is the broker's own
     * count of subscriptions (Python workers' included), null where the broker does not know it (Redis);
     * {@code consumers} names the online workers that said, in the last poll, that they read the queue.
     */
    public List<Map<String, Object>> queues() {
        double now = now();
        Map<String, long[]> rates = new LinkedHashMap<>();
        history.scan(r -> {
            if (r.queue() == null) {
                return;
            }
            long[] v = rates.computeIfAbsent(r.queue(), q -> new long[2]);
            if (r.received() != null && r.received() >= now - 60) {
                v[0]++;
            }
            if (r.finished() != null && r.finished() >= now - 60) {
                v[1]++;
            }
        });
        List<WorkerInfo> ws = workers();
        List<Map<String, Object>> out = new ArrayList<>();
        for (String q : new java.util.TreeSet<>(queues)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", q);
            m.put("waiting", app.broker().queueLength(q));
            java.util.OptionalInt consumers = app.broker().consumerCount(q);
            m.put("consumerCount", consumers.isPresent() ? consumers.getAsInt() : null);
            if (app.broker() instanceof io.celeriac.redis.RedisBroker redis && redis.isCluster()) {
                // Sharded: which slot and master hold the queue, for operators.
                m.put("location", redis.queueLocation(q));
            }
            m.put("consumers", ws.stream().filter(w -> w.online() && w.queues().contains(q)).map(WorkerInfo::hostname)
                    .toList());
            long[] r = rates.getOrDefault(q, new long[2]);
            m.put("receivedPerMinute", r[0]);
            m.put("finishedPerMinute", r[1]);
            out.add(m);
        }
        return out;
    }

    Map<String, Object> charts(String task) {
        return charts.compute(history, now(), task);
    }

    String scrapeMetrics() {
        return metrics.scrape();
    }

    public io.micrometer.core.instrument.MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    /** How many dead letters the broker holds (0 when it keeps none that can be read back). */
    public long deadLetterCount() {
        return app.broker().deadLetterQueue().map(q -> q.count()).orElse(0L);
    }

    public List<DeadLetter> deadLetters(int limit) {
        return app.broker().deadLetterQueue().map(q -> q.list(limit)).orElse(List.of());
    }

    public Optional<ScheduleStore> scheduleStore() {
        return Optional.ofNullable(schedules);
    }

    public EntryState scheduleState(String name) {
        return schedules == null ? EntryState.NEW : schedules.state(name);
    }

    // ------------------------------------------------------------------ acting

    /**
     * Sends a copy of a finished task (same name, arguments and queue; a new id) and links the two in the history.
     *
     * @return the new task's id
     */
    public String retry(String taskId) {
        TaskRecord r = history.get(taskId).orElseThrow(() -> new IllegalArgumentException("no task " + taskId));
        if (r.name() == null) {
            throw new IllegalArgumentException("task " + taskId + " has no name yet: it was never received");
        }
        List<Object> args = PythonLiteral.parseArgs(r.args());
        Map<String, Object> kwargs = PythonLiteral.parseKwargs(r.kwargs());
        SendOptions.Builder o = SendOptions.builder();
        String queue = r.queue() != null ? r.queue() : soleQueueOf(r.worker());
        if (queue != null) {
            o.queue(queue);
        }
        String newId = app.applyAsync(r.name(), args, kwargs, o.build()).id();
        history.put(r.withRetriedAs(newId));
        log.info("dashboard: retried {} as {}", taskId, newId);
        return newId;
    }

    /**
     * The queue a task came from when its events don't say (Python Celery's don't): the one queue its worker
     * consumes, if it consumes just one; otherwise null, and the task's own routing decides.
     */
    private String soleQueueOf(String hostname) {
        return workers().stream().filter(w -> w.hostname().equals(hostname) && w.queues().size() == 1)
                .map(w -> w.queues().get(0)).findFirst().orElse(null);
    }

    /** Retries every failed task matching {@code q} that was not retried yet; returns how many. */
    public int retryAll(TaskQuery q) {
        List<String> ids = new ArrayList<>();
        TaskQuery failed = new TaskQuery(Set.of("FAILURE"), q.name(), q.search(), q.worker(), 0, 500);
        history.scan(r -> {
            if (r.state().equals("FAILURE") && r.retriedAs() == null && failed.matches(r)) {
                ids.add(r.id());
            }
        });
        int n = 0;
        for (String id : ids) {
            try {
                retry(id);
                n++;
            } catch (IllegalArgumentException e) {
                log.warn("dashboard: cannot retry {}: {}", id, e.getMessage());
            }
        }
        return n;
    }

    /** Drops failed tasks matching {@code q} from the history (they stay in the result backend); returns how many. */
    public int discardFailed(TaskQuery q) {
        List<String> ids = new ArrayList<>();
        TaskQuery failed = new TaskQuery(Set.of("FAILURE"), q.name(), q.search(), q.worker(), 0, 500);
        history.scan(r -> {
            if (failed.matches(r)) {
                ids.add(r.id());
            }
        });
        return history.remove(ids);
    }

    public void revoke(String taskId, boolean terminate) {
        app.revoke(taskId, terminate);
    }

    /** Celery's {@code rate_limit} control: {@code rate} like {@code 10/m}, or empty to lift it. */
    public void rateLimit(String task, String rate, List<String> destination) {
        Objects.requireNonNull(task, "task");
        app.controlBus("setting a rate limit").broadcast(new ControlMessage("rate_limit",
                Map.of("task_name", task, "rate_limit", rate == null || rate.isBlank() ? "0" : rate),
                destination, null, null));
    }

    /** Grows ({@code delta > 0}) or shrinks a worker's pool. */
    public void resizePool(String hostname, int delta) {
        if (delta == 0) {
            return;
        }
        app.controlBus("resizing a pool").broadcast(new ControlMessage(delta > 0 ? "pool_grow" : "pool_shrink",
                Map.of("n", Math.abs(delta)), List.of(hostname), null, null));
    }

    /** Asks one worker to shut down warmly. */
    public void shutdownWorker(String hostname) {
        app.controlBus("shutting a worker down").broadcast(new ControlMessage("shutdown", Map.of(), List.of(hostname),
                null, null));
    }

    public long purge(String queue) {
        return app.broker().purge(queue);
    }

    public boolean requeueDeadLetter(String id) {
        return app.broker().deadLetterQueue().map(q -> q.requeue(id)).orElse(false);
    }

    public boolean discardDeadLetter(String id) {
        return app.broker().deadLetterQueue().map(q -> q.discard(id)).orElse(false);
    }

    public int requeueAllDeadLetters() {
        int n = 0;
        for (DeadLetter d : deadLetters(100_000)) {
            if (requeueDeadLetter(d.id())) {
                n++;
            }
        }
        return n;
    }

    ScheduleStore requireSchedules() {
        if (schedules == null) {
            throw new IllegalStateException("no schedule store configured");
        }
        return schedules;
    }

    /** Sends a schedule entry's task now, outside its schedule; returns the task id. */
    public String runScheduleNow(String name) {
        ScheduleEntry e = requireSchedules().entry(name)
                .orElseThrow(() -> new IllegalArgumentException("no schedule " + name));
        SendOptions.Builder o = SendOptions.builder();
        if (e.queue() != null) {
            o.queue(e.queue());
        }
        if (e.priority() != null) {
            o.priority(e.priority());
        }
        return app.applyAsync(e.task(), e.args(), e.kwargs(), o.build()).id();
    }

    @Override
    public synchronized void close() {
        closed = true;
        timers.shutdownNow();
        try {
            if (subscription != null) {
                subscription.close();
            }
        } catch (Exception e) {
            log.debug("closing event subscription: {}", e.toString());
        }
        if (server != null) {
            server.stop();
            server = null;
        }
        drainQuietly();
        history.flush();
        historyStore.close();
    }

    private void drainQuietly() {
        try {
            drainEvents();
        } catch (RuntimeException e) {
            log.debug("last drain: {}", e.toString());
        }
    }

    /** Options for a {@link Dashboard}. */
    public static final class Builder {
        private final Celeriac app;
        private ScheduleStore schedules;
        private HistoryStore historyStore = HistoryStore.none();
        private String historyUrl;
        private boolean historyFromUrl;
        private int historySize = 100_000;
        private String host = "127.0.0.1";
        private int port = 5555;
        private final Users users = new Users();
        private final Set<String> queues = new LinkedHashSet<>();

        private Builder(Celeriac app) {
            this.app = Objects.requireNonNull(app, "app");
        }

        /** Where the Schedules page reads and edits beat entries; without one the page says so. */
        public Builder scheduleStore(ScheduleStore v) { this.schedules = v; return this; }

        /** Where the task history is kept across restarts (default: nowhere, unless {@link #historyUrl} is set). */
        public Builder historyStore(HistoryStore v) {
            this.historyStore = Objects.requireNonNull(v);
            this.historyUrl = null;
            this.historyFromUrl = false;
            return this;
        }

        /**
         * Where the task history is kept across restarts, as a URL (the CLI's {@code --history}, Spring's
         * {@code celeriac.dashboard.history-url}):
         * <ul>
         *   <li>{@code jdbc:postgresql://host/db}, {@code jdbc:mariadb://host/db}, {@code jdbc:h2:...}: a table in
         *       that database ({@link JdbcHistoryStore}); user and password from {@code CELERIAC_HISTORY_DB_USER} and
         *       {@code CELERIAC_HISTORY_DB_PASSWORD}, or in the URL;</li>
         *   <li>{@code redis://host:port/db} or {@code rediss://...}: that Redis ({@link RedisHistoryStore});
         *       {@code redis}: the broker's Redis;</li>
         *   <li>{@code none} (or {@code memory}): memory only, lost on restart;</li>
         *   <li>null or empty: the broker's Redis when the broker is Redis, else memory only, said in the log and on
         *       the pages.</li>
         * </ul>
         * Nothing is connected here or in {@link #build()}: the store connects on first use, so the dashboard starts
         * while it is down.
         */
        public Builder historyUrl(String url) {
            this.historyUrl = url;
            this.historyFromUrl = true;
            return this;
        }

        /** How many tasks the history keeps (default 100,000). */
        public Builder historySize(int v) { this.historySize = v; return this; }

        /** Interface to bind (default 127.0.0.1: reachable only from this machine). */
        public Builder host(String v) { this.host = v; return this; }

        /** Port (default 5555; 0 picks a free one). */
        public Builder port(int v) { this.port = v; return this; }

        /** Adds a user; with no admin among them, user {@code admin} gets a generated password. */
        public Builder user(String name, String password, Role role) { users.add(name, password, role); return this; }

        /**
         * Adds users given as {@code user:password} (the form the CLI, the environment and Spring properties use;
         * the password may contain ':').
         */
        public Builder users(java.util.Collection<String> userColonPassword, Role role) {
            for (String up : userColonPassword) {
                int colon = up.indexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException("expected user:password, got '" + up.replaceAll(":.*", ":…")
                            + "'");
                }
                users.add(up.substring(0, colon), up.substring(colon + 1), role);
            }
            return this;
        }

        /** Queues to show even before a worker reports consuming them. */
        public Builder queues(String... v) { queues.addAll(List.of(v)); return this; }

        public Dashboard build() {
            return new Dashboard(this);
        }

        /** The store {@link #historyStore} gave, or the one {@link #historyUrl} names; notes a memory-only one. */
        private HistoryStore resolveHistoryStore(List<String> notices) {
            if (!historyFromUrl) {
                return historyStore;
            }
            String broker = app.config().brokerUrl();
            boolean redisBroker = isRedis(broker);
            String url = historyUrl == null ? "" : historyUrl.trim();
            String memoryOnly = "The task history is kept in memory only: a restart loses it. Set --history (or "
                    + "celeriac.dashboard.history-url) to a jdbc: or redis:// URL to keep it.";
            if (url.isEmpty()) {
                if (redisBroker) {
                    log.info("dashboard: task history in the broker's Redis at {}", ReconnectBackoff.redact(broker));
                    return new RedisHistoryStore(broker, app.config().brokerTransportOptions());
                }
                log.info("dashboard: task history in memory only: the broker ({}) is not Redis and no history store "
                        + "is set (--history jdbc:postgresql://... or redis://...)", ReconnectBackoff.redact(broker));
                notices.add(memoryOnly);
                return HistoryStore.none();
            }
            if (url.equals("none") || url.equals("memory")) {
                log.info("dashboard: task history in memory only ({})", url);
                notices.add(memoryOnly);
                return HistoryStore.none();
            }
            if (url.equals("redis")) {
                if (!redisBroker) {
                    throw new IllegalArgumentException("history 'redis' means the broker's Redis, but the broker is "
                            + ReconnectBackoff.redact(broker) + "; give a redis:// or jdbc: URL");
                }
                url = broker;
            }
            if (isRedis(url)) {
                log.info("dashboard: task history in Redis at {}", ReconnectBackoff.redact(url));
                return new RedisHistoryStore(url, app.config().brokerTransportOptions());
            }
            if (url.startsWith("jdbc:")) {
                // Credentials from the environment (or in the URL), not the command line, where `ps` would show them.
                return JdbcHistoryStore.open(url, System.getenv("CELERIAC_HISTORY_DB_USER"),
                        System.getenv("CELERIAC_HISTORY_DB_PASSWORD"));
            }
            throw new IllegalArgumentException("unknown history store '" + ReconnectBackoff.redact(url) + "': use "
                    + "jdbc:postgresql://host/db (or jdbc:mariadb:, jdbc:h2:), redis://host:port/db, redis (the "
                    + "broker's), or none");
        }

        private static boolean isRedis(String url) {
            return io.celeriac.redis.RedisUrl.isRedisUrl(url);
        }
    }
}
