package io.celeriac.spring;

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
    private String brokerUrl;
    /** Result backend URL (result_backend); defaults to the broker. Required on RabbitMQ: rpc://, redis:// or jdbc:. */
    private String resultBackend;
    /** How long results are kept (result_expires). */
    private Duration resultExpires;
    /** Queue of tasks without one (task_default_queue). */
    private String taskDefaultQueue;
    /** Ack after the task ran instead of before (task_acks_late). */
    private Boolean taskAcksLate;
    /** Hard time limit (task_time_limit). */
    private Duration taskTimeLimit;
    /** Soft time limit (task_soft_time_limit). */
    private Duration taskSoftTimeLimit;
    /** Messages reserved per pool slot (worker_prefetch_multiplier). */
    private Integer workerPrefetchMultiplier;
    /** Time zone of crontab schedules (timezone). */
    private String timezone;
    /** Task name or glob to queue (task_routes), e.g. celeriac.task-routes.[orders.*]=orders. */
    private Map<String, String> taskRoutes = new LinkedHashMap<>();
    /** Run tasks in the caller's thread, for tests (task_always_eager). */
    private Boolean taskAlwaysEager;
    private final Worker worker = new Worker();
    private final Beat beat = new Beat();
    private final Dashboard dashboard = new Dashboard();
    private final Sentry sentry = new Sentry();

    /** Task failures to Sentry (needs celeriac-sentry on the classpath). */
    public static class Sentry {
        /** Sentry DSN; when set, the worker reports each task failure once, after its last retry. */
        private String dsn;

        public String getDsn() { return dsn; }
        public void setDsn(String dsn) { this.dsn = dsn; }
    }

    public Sentry getSentry() { return sentry; }

    /** The worker this application runs, if enabled. */
    public static class Worker {
        /** Run a worker in this application. */
        private boolean enabled;
        /** Queues to consume (default: task_default_queue). */
        private List<String> queues = new ArrayList<>();
        /** Pool size (worker_concurrency). */
        private Integer concurrency;
        /** Node name; %h is the host name. */
        private String hostname;
        /** Send Celery's monitoring events (-E). */
        private boolean sendEvents;
        /** Seconds running tasks get at shutdown. */
        private Duration shutdownGrace = Duration.ofSeconds(30);

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public List<String> getQueues() { return queues; }
        public void setQueues(List<String> queues) { this.queues = queues; }
        public Integer getConcurrency() { return concurrency; }
        public void setConcurrency(Integer concurrency) { this.concurrency = concurrency; }
        public String getHostname() { return hostname; }
        public void setHostname(String hostname) { this.hostname = hostname; }
        public boolean isSendEvents() { return sendEvents; }
        public void setSendEvents(boolean sendEvents) { this.sendEvents = sendEvents; }
        public Duration getShutdownGrace() { return shutdownGrace; }
        public void setShutdownGrace(Duration shutdownGrace) { this.shutdownGrace = shutdownGrace; }
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
        private String store;

        public boolean isEnabled() { return enabled; }
        public void setEnabled(boolean enabled) { this.enabled = enabled; }
        public String getStore() { return store; }
        public void setStore(String store) { this.store = store; }
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
        private String historyUrl;

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
        public String getHistoryUrl() { return historyUrl; }
        public void setHistoryUrl(String historyUrl) { this.historyUrl = historyUrl; }
    }

    public Dashboard getDashboard() { return dashboard; }
    public String getBrokerUrl() { return brokerUrl; }
    public void setBrokerUrl(String brokerUrl) { this.brokerUrl = brokerUrl; }
    public String getResultBackend() { return resultBackend; }
    public void setResultBackend(String resultBackend) { this.resultBackend = resultBackend; }
    public Duration getResultExpires() { return resultExpires; }
    public void setResultExpires(Duration resultExpires) { this.resultExpires = resultExpires; }
    public String getTaskDefaultQueue() { return taskDefaultQueue; }
    public void setTaskDefaultQueue(String taskDefaultQueue) { this.taskDefaultQueue = taskDefaultQueue; }
    public Boolean getTaskAcksLate() { return taskAcksLate; }
    public void setTaskAcksLate(Boolean taskAcksLate) { this.taskAcksLate = taskAcksLate; }
    public Duration getTaskTimeLimit() { return taskTimeLimit; }
    public void setTaskTimeLimit(Duration taskTimeLimit) { this.taskTimeLimit = taskTimeLimit; }
    public Duration getTaskSoftTimeLimit() { return taskSoftTimeLimit; }
    public void setTaskSoftTimeLimit(Duration taskSoftTimeLimit) { this.taskSoftTimeLimit = taskSoftTimeLimit; }
    public Integer getWorkerPrefetchMultiplier() { return workerPrefetchMultiplier; }
    public void setWorkerPrefetchMultiplier(Integer v) { this.workerPrefetchMultiplier = v; }
    public String getTimezone() { return timezone; }
    public void setTimezone(String timezone) { this.timezone = timezone; }
    public Map<String, String> getTaskRoutes() { return taskRoutes; }
    public void setTaskRoutes(Map<String, String> taskRoutes) { this.taskRoutes = taskRoutes; }
    public Boolean getTaskAlwaysEager() { return taskAlwaysEager; }
    public void setTaskAlwaysEager(Boolean taskAlwaysEager) { this.taskAlwaysEager = taskAlwaysEager; }
    public Worker getWorker() { return worker; }
    public Beat getBeat() { return beat; }
}
