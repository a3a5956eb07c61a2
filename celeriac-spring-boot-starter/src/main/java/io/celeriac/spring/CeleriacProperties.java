package io.celeriac.spring;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code celeriac.*} properties; each maps to the Celery setting of the same name (docs/configuration.md), e.g.
 * {@code celeriac.task-acks-late} is {@code task_acks_late}.
 */
@ConfigurationProperties(prefix = "celeriac")
public class CeleriacProperties {
    /**
     * Broker URL (Celery's broker_url), e.g. redis://localhost:6379/0, or amqp://host:5672/vhost with celeriac-amqp
     * on the classpath. memory:// runs in-process.
     */
    private @Nullable String brokerUrl;
    /** Result backend URL (result_backend); defaults to the broker. Required on RabbitMQ: rpc://, redis:// or jdbc:. */
    private @Nullable String resultBackend;
    /** How long results are kept (result_expires). */
    private @Nullable Duration resultExpires;
    /** Queue of tasks without one (task_default_queue). */
    private @Nullable String taskDefaultQueue;
    /** Ack after the task ran instead of before (task_acks_late). */
    private @Nullable Boolean taskAcksLate;
    /** Hard time limit (task_time_limit). */
    private @Nullable Duration taskTimeLimit;
    /** Soft time limit (task_soft_time_limit). */
    private @Nullable Duration taskSoftTimeLimit;
    /** Messages reserved per pool slot (worker_prefetch_multiplier). */
    private @Nullable Integer workerPrefetchMultiplier;
    /** Time zone of crontab schedules (timezone). */
    private @Nullable String timezone;
    /** Task name or glob to queue (task_routes), e.g. celeriac.task-routes.[orders.*]=orders. */
    private Map<String, String> taskRoutes = new LinkedHashMap<>();
    /** Run tasks in the caller's thread, for tests (task_always_eager). */
    private @Nullable Boolean taskAlwaysEager;
    /**
     * Hold the sends made inside a Spring transaction until it commits, and drop them if it rolls back (Celery's
     * delay_on_commit for every send); outside a transaction a send goes out at once. Celeriac.sendNow(...) sends
     * at once all the same.
     */
    private boolean sendAfterCommit = true;
    private final Outbox outbox = new Outbox();
    private final Worker worker = new Worker();
    private final Beat beat = new Beat();
    private final Dashboard dashboard = new Dashboard();
    private final Sentry sentry = new Sentry();

    /** Task failures to Sentry (needs celeriac-sentry on the classpath). */
    public static class Sentry {
        /** Sentry DSN; when set, the worker reports each task failure once, after its last retry. */
        private @Nullable String dsn;

        public @Nullable String getDsn() { return dsn; }
        public void setDsn(@Nullable String dsn) { this.dsn = dsn; }
    }

    public Sentry getSentry() { return sentry; }

    /**
     * The transactional outbox (needs celeriac-jdbc and the application's DataSource): sends made in a transaction on
     * that DataSource are written to table celeriac_outbox in the transaction, and a relay publishes them once
     * committed.
     */
    public static class Outbox {
        /** Write sends made in a transaction to the outbox instead of holding them in memory until the commit. */
        private boolean enabled;
        /**
         * How long the broker keeps the key a relayed message was published under, so that a row relayed again
         * after a relay died before deleting it is not queued twice (default 1d, JdbcOutbox.DEFAULT_KEEP).
         */
        private @Nullable Duration keep;
        /** Create or upgrade Celeriac's tables (Flyway, history table celeriac_schema_history) at start. */
        private boolean migrate = true;
        private final Relay relay = new Relay();

        /** The relay that publishes the outbox's rows. */
        public static class Relay {
            /** Run a relay in this application (every instance may: they share the table). */
            private boolean enabled = true;
            /** Rows locked, published and deleted per transaction (default 100). */
            private @Nullable Integer batchSize;
            /** Pause after a batch that was not full (default 500ms); a commit in this application ends it. */
            private @Nullable Duration pollInterval;

            public boolean isEnabled() { return enabled; }
            public void setEnabled(boolean enabled) { this.enabled = enabled; }
            public @Nullable Integer getBatchSize() { return batchSize; }
            public void setBatchSize(@Nullable Integer batchSize) { this.batchSize = batchSize; }
            public @Nullable Duration getPollInterval() { return pollInterval; }
            public void setPollInterval(@Nullable Duration pollInterval) { this.pollInterval = pollInterval; }
        }

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public @Nullable Duration getKeep() { return keep; }
        public void setKeep(@Nullable Duration keep) { this.keep = keep; }
        public boolean isMigrate() { return migrate; }
        public void setMigrate(boolean migrate) { this.migrate = migrate; }
        public Relay getRelay() { return relay; }
    }

    public Outbox getOutbox() { return outbox; }
    public boolean isSendAfterCommit() { return sendAfterCommit; }
    public void setSendAfterCommit(boolean sendAfterCommit) { this.sendAfterCommit = sendAfterCommit; }

    /** The worker this application runs, if enabled. */
    public static class Worker {
        /** Run a worker in this application. */
        private boolean enabled;
        /** Queues to consume (default: task_default_queue). */
        private List<String> queues = new ArrayList<>();
        /** Pool size (worker_concurrency). */
        private @Nullable Integer concurrency;
        /** Node name; %h is the host name. */
        private @Nullable String hostname;
        /** Send Celery's monitoring events (-E). */
        private boolean sendEvents;
        /** Seconds running tasks get at shutdown. */
        private @Nullable Duration shutdownGrace = Duration.ofSeconds(30);

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public List<String> getQueues() { return queues; }
        public void setQueues(List<String> queues) { this.queues = queues; }
        public @Nullable Integer getConcurrency() { return concurrency; }
        public void setConcurrency(@Nullable Integer concurrency) { this.concurrency = concurrency; }
        public @Nullable String getHostname() { return hostname; }
        public void setHostname(@Nullable String hostname) { this.hostname = hostname; }
        public boolean isSendEvents() { return sendEvents; }
        public void setSendEvents(boolean sendEvents) { this.sendEvents = sendEvents; }
        public @Nullable Duration getShutdownGrace() { return shutdownGrace; }
        public void setShutdownGrace(@Nullable Duration shutdownGrace) { this.shutdownGrace = shutdownGrace; }
    }

    /**
     * Beat, if enabled: entries in Redis on the broker's server, or in celeriac.beat.store (a redis:// or jdbc: URL;
     * required when the broker is RabbitMQ, where beat records each due time in the store before publishing it).
     */
    public static class Beat {
        /** Run beat in this application (safe on several instances: each due time is sent once). */
        private boolean enabled;
        /**
         * Store URL: redis://... or jdbc:postgresql://... (needs celeriac-jdbc). Defaults to the broker when it is
         * Redis; required otherwise.
         */
        private @Nullable String store;

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public @Nullable String getStore() { return store; }
        public void setStore(@Nullable String store) { this.store = store; }
    }

    /** The monitoring dashboard, served from this application on its own port (needs celeriac-dashboard). */
    public static class Dashboard {
        /** Serve the dashboard from this application. */
        private boolean enabled;
        /** Its port (0 picks a free one). */
        private int port = 5555;
        /** Interface to bind; the default keeps it to this machine. */
        private String address = "127.0.0.1";
        /** Admin users as user:password; with none, user admin gets a generated password, logged at start. */
        private List<String> adminUsers = new ArrayList<>();
        /** Read-only users as user:password. */
        private List<String> readonlyUsers = new ArrayList<>();
        /** Tasks kept in the history. */
        private int historySize = 100_000;
        /**
         * Where the history is kept across restarts: a jdbc: URL (user and password from CELERIAC_HISTORY_DB_USER /
         * CELERIAC_HISTORY_DB_PASSWORD, or in the URL), a redis:// URL, redis (the broker's) or none. Unset: the
         * broker's Redis when the broker is Redis, else memory only.
         */
        private @Nullable String historyUrl;

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public int getPort() { return port; }
        public void setPort(int port) { this.port = port; }
        public String getAddress() { return address; }
        public void setAddress(String address) { this.address = address; }
        public List<String> getAdminUsers() { return adminUsers; }
        public void setAdminUsers(List<String> v) { this.adminUsers = v; }
        public List<String> getReadonlyUsers() { return readonlyUsers; }
        public void setReadonlyUsers(List<String> v) { this.readonlyUsers = v; }
        public int getHistorySize() { return historySize; }
        public void setHistorySize(int historySize) { this.historySize = historySize; }
        public @Nullable String getHistoryUrl() { return historyUrl; }
        public void setHistoryUrl(@Nullable String historyUrl) { this.historyUrl = historyUrl; }
    }

    public Dashboard getDashboard() { return dashboard; }
    public @Nullable String getBrokerUrl() { return brokerUrl; }
    public void setBrokerUrl(@Nullable String brokerUrl) { this.brokerUrl = brokerUrl; }
    public @Nullable String getResultBackend() { return resultBackend; }
    public void setResultBackend(@Nullable String resultBackend) { this.resultBackend = resultBackend; }
    public @Nullable Duration getResultExpires() { return resultExpires; }
    public void setResultExpires(@Nullable Duration resultExpires) { this.resultExpires = resultExpires; }
    public @Nullable String getTaskDefaultQueue() { return taskDefaultQueue; }
    public void setTaskDefaultQueue(@Nullable String taskDefaultQueue) { this.taskDefaultQueue = taskDefaultQueue; }
    public @Nullable Boolean getTaskAcksLate() { return taskAcksLate; }
    public void setTaskAcksLate(@Nullable Boolean taskAcksLate) { this.taskAcksLate = taskAcksLate; }
    public @Nullable Duration getTaskTimeLimit() { return taskTimeLimit; }
    public void setTaskTimeLimit(@Nullable Duration taskTimeLimit) { this.taskTimeLimit = taskTimeLimit; }
    public @Nullable Duration getTaskSoftTimeLimit() { return taskSoftTimeLimit; }
    public void setTaskSoftTimeLimit(@Nullable Duration taskSoftTimeLimit) {
        this.taskSoftTimeLimit = taskSoftTimeLimit;
    }
    public @Nullable Integer getWorkerPrefetchMultiplier() { return workerPrefetchMultiplier; }
    public void setWorkerPrefetchMultiplier(@Nullable Integer v) { this.workerPrefetchMultiplier = v; }
    public @Nullable String getTimezone() { return timezone; }
    public void setTimezone(@Nullable String timezone) { this.timezone = timezone; }
    public Map<String, String> getTaskRoutes() { return taskRoutes; }
    public void setTaskRoutes(Map<String, String> taskRoutes) { this.taskRoutes = taskRoutes; }
    public @Nullable Boolean getTaskAlwaysEager() { return taskAlwaysEager; }
    public void setTaskAlwaysEager(@Nullable Boolean taskAlwaysEager) { this.taskAlwaysEager = taskAlwaysEager; }
    public Worker getWorker() { return worker; }
    public Beat getBeat() { return beat; }
}
