package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.ReconnectBackoff;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
 * <p>This class is the facade: it builds, starts and stops the parts, each with one job ({@code EventIntake},
 * {@code WorkerPolling}, {@code QueueSampling}, {@code OperatorActions}, and {@code DashboardServer} for HTTP), and
 * its methods are what the pages and API call.
 *
 * <pre>{@code
 * Dashboard d = Dashboard.builder(app).scheduleStore(store).user("ops", "s3cret", Role.ADMIN).port(5555).build();
 * d.start();
 * }</pre>
 */
public final class Dashboard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Dashboard.class);

    private final Celeriac app;
    private final @Nullable ScheduleStore schedules;
    private final TaskHistory history;
    private final HistoryStore historyStore;
    private final WorkerRegistry workers = new WorkerRegistry();
    private final Charts charts = new Charts();
    private final DashboardMetrics metrics;
    private final QueueSampling queues;
    private final WorkerPolling workerPolling;
    private final LiveStream stream = new LiveStream();
    private final EventIntake intake;
    private final OperatorActions actions;
    private final Users users;
    private final @Nullable String generatedPassword;
    private final String host;
    private final int requestedPort;
    private final Clock clock;
    /** What this dashboard cannot do or keep, for the log and the pages' banner. */
    private final List<String> notices;
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(3, r -> {
        Thread t = new Thread(r, "celeriac-dashboard");
        t.setDaemon(true);
        return t;
    });
    private volatile @Nullable DashboardServer server;
    private final ReconnectBackoff backoff = new ReconnectBackoff(log);
    private volatile boolean historyLoaded;
    private volatile boolean closed;
    /** True once events are subscribed to; until then the broker polls are skipped rather than failing every time. */
    private volatile boolean connected;

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
        this.metrics = new DashboardMetrics(() -> workers.onlineCount(now()), this::droppedEvents);
        this.queues = new QueueSampling(app, history, workers, charts, metrics, this::now);
        this.workerPolling = new WorkerPolling(app, workers, queues, this::now);
        this.intake = new EventIntake(app, history, workers, metrics, queues, stream, this::now);
        this.actions = new OperatorActions(app, history, workers, schedules, this::now);
        queues.add(app.config().defaultQueue());
        b.queues.forEach(queues::add);
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
        timers.scheduleWithFixedDelay(guard(intake::drain), 100, 100, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(guard(history::flush), 500, 500, TimeUnit.MILLISECONDS);
        timers.scheduleWithFixedDelay(whenConnected(queues::sample), 0, 5, TimeUnit.SECONDS);
        timers.scheduleWithFixedDelay(whenConnected(workerPolling::poll), 200,
                (long) (WorkerPolling.POLL_SECONDS * 1000), TimeUnit.MILLISECONDS);
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
                intake.subscribe();
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

    private long droppedEvents() {
        return intake.dropped();
    }

    /** Folds the events received so far into the history, the worker list and the metrics. */
    void drainEvents() {
        intake.drain();
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
        return queues.list();
    }

    Map<String, Object> charts(@Nullable String task) {
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
        return queues.deadLetterCount();
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

    // ------------------------------------------------------------------ acting (see OperatorActions)

    /**
     * Sends a copy of a finished task (same name, arguments and queue; a new id) and links the two in the history.
     *
     * @return the new task's id
     */
    public String retry(String taskId) {
        return actions.retry(taskId);
    }

    /** Retries every failed task matching {@code q} that was not retried yet; returns how many. */
    public int retryAll(TaskQuery q) {
        return actions.retryAll(q);
    }

    /** Drops failed tasks matching {@code q} from the history (they stay in the result backend); returns how many. */
    public int discardFailed(TaskQuery q) {
        return actions.discardFailed(q);
    }

    public void revoke(String taskId, boolean terminate) {
        actions.revoke(taskId, terminate);
    }

    /** Celery's {@code rate_limit} control: {@code rate} like {@code 10/m}, or empty to lift it. */
    public void rateLimit(String task, @Nullable String rate, List<String> destination) {
        actions.rateLimit(task, rate, destination);
    }

    /** Grows ({@code delta > 0}) or shrinks a worker's pool. */
    public void resizePool(String hostname, int delta) {
        actions.resizePool(hostname, delta);
    }

    /** Asks one worker to shut down warmly. */
    public void shutdownWorker(String hostname) {
        actions.shutdownWorker(hostname);
    }

    public long purge(String queue) {
        return actions.purge(queue);
    }

    public boolean requeueDeadLetter(String id) {
        return actions.requeueDeadLetter(id);
    }

    public boolean discardDeadLetter(String id) {
        return actions.discardDeadLetter(id);
    }

    public int requeueAllDeadLetters() {
        return actions.requeueAllDeadLetters();
    }

    ScheduleStore requireSchedules() {
        return actions.requireSchedules();
    }

    /** Sends a schedule entry's task now, outside its schedule; returns the task id. */
    public String runScheduleNow(String name) {
        return actions.runScheduleNow(name);
    }

    @Override
    public synchronized void close() {
        closed = true;
        timers.shutdownNow();
        intake.close();
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
            intake.drain();
        } catch (RuntimeException e) {
            log.debug("last drain: {}", e.toString());
        }
    }

    /** Options for a {@link Dashboard}. */
    public static final class Builder {
        private final Celeriac app;
        private @Nullable ScheduleStore schedules;
        private HistoryStore historyStore = HistoryStore.none();
        private @Nullable String historyUrl;
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
        public Builder scheduleStore(@Nullable ScheduleStore v) { this.schedules = v; return this; }

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
        public Builder historyUrl(@Nullable String url) {
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
            return HistoryStoreUrl.open(historyUrl, app, notices);
        }
    }
}
