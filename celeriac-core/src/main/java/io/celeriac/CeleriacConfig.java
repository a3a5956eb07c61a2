package io.celeriac;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.protocol.PythonLiteral;
import io.celeriac.task.PublishRetryPolicy;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.jspecify.annotations.Nullable;

/**
 * Application and worker settings. Build one in code with {@link #builder()}, or {@link #load()} it from
 * {@code celeriac.properties} and the environment. Keys are Celery's setting names ({@code broker_url},
 * {@code task_acks_late}, {@code worker_prefetch_multiplier}, ...), so a Celery user's settings carry over; the same
 * keys are accepted dotted and dashed with a {@code celeriac.} prefix ({@code celeriac.task-acks-late}) and as
 * environment variables ({@code CELERIAC_TASK_ACKS_LATE}, or Celery's {@code CELERY_BROKER_URL}).
 * docs/configuration.md lists them all.
 */
public final class CeleriacConfig {
    /** Every key understood, in Celery's spelling. */
    public static final List<String> KEYS = List.of("broker_url", "result_backend", "result_expires",
            "task_default_queue", "task_acks_late", "task_acks_on_failure_or_timeout", "worker_prefetch_multiplier",
            "worker_concurrency", "worker_pool", "task_time_limit", "task_soft_time_limit", "task_routes", "timezone",
            "task_always_eager", "task_eager_propagates", "task_ignore_result", "task_track_started",
            "task_default_rate_limit", "task_default_priority", "task_queue_max_priority", "worker_hostname", "visibility_timeout",
            "dead_letter_queue", "worker_send_task_events", "worker_max_tasks_per_child",
            "worker_max_memory_per_child",
            // Worker: broker connection at startup, message size.
            "broker_connection_retry_on_startup", "broker_connection_max_retries", "celeriac_max_message_bytes",
            // Sending while the broker is unavailable.
            "task_publish_retry", "task_publish_retry_policy",
            // Transport options (Sentinel's master_name, ...), as Celery's dicts.
            "broker_transport_options", "result_backend_transport_options",
            // Monitoring events and remote control: their exchanges, and their queues' arguments (AMQP).
            "event_exchange", "event_queue_prefix", "event_queue_ttl", "event_queue_expires", "control_exchange",
            "control_queue_ttl", "control_queue_expires");

    // Worker: broker connection at startup, message size.
    /** Celery's default for {@code broker_connection_max_retries}. */
    public static final int DEFAULT_BROKER_CONNECTION_MAX_RETRIES = 100;
    /** Default {@code celeriac_max_message_bytes}: 20 MiB, about Jackson's default limit on one string. */
    public static final long DEFAULT_MAX_MESSAGE_BYTES = io.celeriac.protocol.MessageCodec.DEFAULT_MAX_MESSAGE_BYTES;
    // Monitoring events and remote control: Celery 5.2's defaults (celery/app/defaults.py, namespaces event and
    // control), which `celery events` and `celery inspect` expect unless told otherwise.
    /** Celery's default {@code event_exchange}. */
    public static final String DEFAULT_EVENT_EXCHANGE = "celeryev";
    /** Celery's default {@code event_queue_prefix}. */
    public static final String DEFAULT_EVENT_QUEUE_PREFIX = "celeryev";
    /** Celery's default {@code event_queue_ttl}: 5 s. */
    public static final Duration DEFAULT_EVENT_QUEUE_TTL = Duration.ofSeconds(5);
    /** Celery's default {@code event_queue_expires}: 60 s. */
    public static final Duration DEFAULT_EVENT_QUEUE_EXPIRES = Duration.ofSeconds(60);
    /** Celery's default {@code control_exchange}. */
    public static final String DEFAULT_CONTROL_EXCHANGE = "celery";
    /** Celery's default {@code control_queue_ttl}: 300 s. */
    public static final Duration DEFAULT_CONTROL_QUEUE_TTL = Duration.ofSeconds(300);
    /** Celery's default {@code control_queue_expires}: 10 s. */
    public static final Duration DEFAULT_CONTROL_QUEUE_EXPIRES = Duration.ofSeconds(10);

    private final String brokerUrl;
    private final String resultBackend;
    private final Duration resultExpires;
    private final String defaultQueue;
    private final boolean acksLate;
    private final boolean acksOnFailureOrTimeout;
    private final int prefetchMultiplier;
    private final int concurrency;
    private final String pool;
    private final @Nullable Duration timeLimit;
    private final @Nullable Duration softTimeLimit;
    private final List<TaskRoute> routes;
    private final ZoneId timezone;
    private final boolean alwaysEager;
    private final boolean eagerPropagates;
    private final boolean ignoreResult;
    private final boolean trackStarted;
    private final @Nullable String defaultRateLimit;
    private final @Nullable Integer defaultPriority;
    private final @Nullable Integer queueMaxPriority;
    private final String hostname;
    private final Duration visibilityTimeout;
    private final String deadLetterQueue;
    private final boolean sendTaskEvents;
    private final int maxTasksPerChild;
    private final long maxMemoryPerChildKb;
    // Worker: broker connection at startup, message size.
    private final boolean brokerConnectionRetryOnStartup;
    private final @Nullable Integer brokerConnectionMaxRetries;
    private final long maxMessageBytes;
    // Sending while the broker is unavailable.
    private final boolean publishRetry;
    private final PublishRetryPolicy publishRetryPolicy;
    private final Map<String, Object> brokerTransportOptions;
    private final Map<String, Object> resultBackendTransportOptions;
    // Monitoring events and remote control.
    private final String eventExchange;
    private final String eventQueuePrefix;
    private final @Nullable Duration eventQueueTtl;
    private final @Nullable Duration eventQueueExpires;
    private final String controlExchange;
    private final @Nullable Duration controlQueueTtl;
    private final @Nullable Duration controlQueueExpires;

    private CeleriacConfig(Builder b) {
        this.brokerUrl = b.brokerUrl;
        this.resultBackend = b.resultBackend == null ? b.brokerUrl : b.resultBackend;
        this.resultExpires = b.resultExpires;
        this.defaultQueue = b.defaultQueue;
        this.acksLate = b.acksLate;
        this.acksOnFailureOrTimeout = b.acksOnFailureOrTimeout;
        this.prefetchMultiplier = b.prefetchMultiplier;
        this.concurrency = b.concurrency;
        this.pool = b.pool;
        this.timeLimit = b.timeLimit;
        this.softTimeLimit = b.softTimeLimit;
        this.routes = List.copyOf(b.routes);
        this.timezone = b.timezone;
        this.alwaysEager = b.alwaysEager;
        this.eagerPropagates = b.eagerPropagates;
        this.ignoreResult = b.ignoreResult;
        this.trackStarted = b.trackStarted;
        this.defaultRateLimit = b.defaultRateLimit;
        this.defaultPriority = b.defaultPriority;
        this.queueMaxPriority = b.queueMaxPriority;
        this.hostname = b.hostname == null ? "celery@" + localHost() : b.hostname;
        this.visibilityTimeout = b.visibilityTimeout;
        this.deadLetterQueue = b.deadLetterQueue;
        this.sendTaskEvents = b.sendTaskEvents;
        this.maxTasksPerChild = b.maxTasksPerChild;
        this.maxMemoryPerChildKb = b.maxMemoryPerChildKb;
        // Worker: broker connection at startup, message size.
        this.brokerConnectionRetryOnStartup = b.brokerConnectionRetryOnStartup;
        this.brokerConnectionMaxRetries = b.brokerConnectionMaxRetries;
        this.maxMessageBytes = b.maxMessageBytes;
        // Sending while the broker is unavailable.
        this.publishRetry = b.publishRetry;
        this.publishRetryPolicy = b.publishRetryPolicy;
        this.brokerTransportOptions = Map.copyOf(b.brokerTransportOptions);
        this.resultBackendTransportOptions = Map.copyOf(b.resultBackendTransportOptions);
        // Monitoring events and remote control.
        this.eventExchange = b.eventExchange;
        this.eventQueuePrefix = b.eventQueuePrefix;
        this.eventQueueTtl = b.eventQueueTtl;
        this.eventQueueExpires = b.eventQueueExpires;
        this.controlExchange = b.controlExchange;
        this.controlQueueTtl = b.controlQueueTtl;
        this.controlQueueExpires = b.controlQueueExpires;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static CeleriacConfig defaults() {
        return builder().build();
    }

    /**
     * Defaults, then {@code celeriac.properties} from the classpath, then the file named by
     * {@code CELERIAC_CONFIG}, then environment variables: later sources win.
     */
    public static CeleriacConfig load() {
        return loadBuilder(System.getenv()).build();
    }

    /** As {@link #load()}, with the environment given (for tests). */
    public static Builder loadBuilder(Map<String, String> env) {
        Builder b = builder();
        try (InputStream in = CeleriacConfig.class.getClassLoader().getResourceAsStream("celeriac.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                b.apply(p);
            }
        } catch (IOException e) {
            throw new CeleriacException("cannot read celeriac.properties from the classpath: " + e.getMessage(), e);
        }
        String file = env.get("CELERIAC_CONFIG");
        if (file != null && !file.isBlank()) {
            b.applyFile(Path.of(file));
        }
        b.applyEnvironment(env);
        return b;
    }

    /**
     * Turns any accepted spelling into Celery's key: {@code celeriac.task-acks-late}, {@code CELERIAC_TASK_ACKS_LATE},
     * {@code CELERY_TASK_ACKS_LATE} and {@code task_acks_late} all become {@code task_acks_late}. Returns empty for
     * keys that are not settings.
     */
    public static Optional<String> canonicalKey(String key) {
        String k = key.trim().toLowerCase(Locale.ROOT).replace('-', '_').replace('.', '_');
        for (String prefix : List.of("celeriac_", "celery_")) {
            if (k.startsWith(prefix) && KEYS.contains(k.substring(prefix.length()))) {
                return Optional.of(k.substring(prefix.length()));
            }
        }
        if (KEYS.contains(k)) {
            return Optional.of(k);
        }
        // Aliases from Celery's older upper-case names and our CLI vocabulary.
        return Optional.ofNullable(switch (k) {
            case "broker", "celeriac_broker" -> "broker_url";
            case "backend", "celery_result_backend", "celeriac_result_backend_url" -> "result_backend";
            case "concurrency", "celeryd_concurrency" -> "worker_concurrency";
            case "prefetch_multiplier", "celeryd_prefetch_multiplier" -> "worker_prefetch_multiplier";
            case "acks_late" -> "task_acks_late";
            case "celery_task_result_expires", "task_result_expires" -> "result_expires";
            default -> null;
        });
    }

    public String brokerUrl() { return brokerUrl; }
    public String resultBackend() { return resultBackend; }
    public Duration resultExpires() { return resultExpires; }
    public String defaultQueue() { return defaultQueue; }
    public boolean acksLate() { return acksLate; }
    public boolean acksOnFailureOrTimeout() { return acksOnFailureOrTimeout; }
    public int prefetchMultiplier() { return prefetchMultiplier; }
    public int concurrency() { return concurrency; }
    /** {@code threads}, {@code virtual} or {@code solo}. */
    public String pool() { return pool; }
    public Optional<Duration> timeLimit() { return Optional.ofNullable(timeLimit); }
    public Optional<Duration> softTimeLimit() { return Optional.ofNullable(softTimeLimit); }
    public List<TaskRoute> routes() { return routes; }
    public ZoneId timezone() { return timezone; }
    public boolean alwaysEager() { return alwaysEager; }
    public boolean eagerPropagates() { return eagerPropagates; }
    public boolean ignoreResult() { return ignoreResult; }
    public boolean trackStarted() { return trackStarted; }
    public Optional<String> defaultRateLimit() { return Optional.ofNullable(defaultRateLimit); }
    public Optional<Integer> defaultPriority() { return Optional.ofNullable(defaultPriority); }
    /**
     * Celery's {@code task_queue_max_priority}: task queues are declared with {@code x-max-priority} (AMQP brokers;
     * Redis ignores it). Must match what every other client of the same queues declares.
     */
    public Optional<Integer> queueMaxPriority() { return Optional.ofNullable(queueMaxPriority); }
    /** Node name, Celery style {@code name@host}. */
    public String hostname() { return hostname; }
    public Duration visibilityTimeout() { return visibilityTimeout; }
    public String deadLetterQueue() { return deadLetterQueue; }
    public boolean sendTaskEvents() { return sendTaskEvents; }
    public int maxTasksPerChild() { return maxTasksPerChild; }
    public long maxMemoryPerChildKb() { return maxMemoryPerChildKb; }
    // Worker: broker connection at startup, message size.
    /** Whether a worker started while the broker is down retries (Celery's default: true). */
    public boolean brokerConnectionRetryOnStartup() { return brokerConnectionRetryOnStartup; }
    /** Retries before a worker's startup gives up; null retries for ever, 0 not at all (kombu's counting). */
    public @Nullable Integer brokerConnectionMaxRetries() { return brokerConnectionMaxRetries; }
    /** The largest message a worker accepts; larger ones are dead-lettered without being parsed. */
    public long maxMessageBytes() { return maxMessageBytes; }
    // Sending while the broker is unavailable.
    /** Whether a send retries while the broker is unavailable ({@code task_publish_retry}, default true). */
    public boolean publishRetry() { return publishRetry; }
    /** How a send retries ({@code task_publish_retry_policy}); every key is set. */
    public PublishRetryPolicy publishRetryPolicy() { return publishRetryPolicy; }
    /** Celery's {@code broker_transport_options}: what a transport reads from it (e.g. Sentinel's {@code master_name}). */
    public Map<String, Object> brokerTransportOptions() { return brokerTransportOptions; }
    /** Celery's {@code result_backend_transport_options}. */
    public Map<String, Object> resultBackendTransportOptions() { return resultBackendTransportOptions; }
    // Monitoring events and remote control.
    /** Celery's {@code event_exchange}: where workers publish events and receivers bind their queues. */
    public String eventExchange() { return eventExchange; }
    /** Celery's {@code event_queue_prefix}: a receiver's queue is {@code <prefix>.<uuid>}. Not used on Redis. */
    public String eventQueuePrefix() { return eventQueuePrefix; }
    /**
     * Celery's {@code event_queue_ttl}: how long an event waits in a receiver's queue before RabbitMQ drops it
     * ({@code x-message-ttl}); empty: as long as the queue lives. Not used on Redis, where events are pub/sub.
     */
    public Optional<Duration> eventQueueTtl() { return Optional.ofNullable(eventQueueTtl); }
    /**
     * Celery's {@code event_queue_expires}: how long a receiver's queue outlives its last consumer before RabbitMQ
     * deletes it ({@code x-expires}); empty: until deleted. Not used on Redis.
     */
    public Optional<Duration> eventQueueExpires() { return Optional.ofNullable(eventQueueExpires); }
    /**
     * Celery's {@code control_exchange}: the remote-control namespace; commands go to exchange
     * {@code <name>.pidbox}, replies to {@code reply.<name>.pidbox}, a node reads {@code <hostname>.<name>.pidbox}.
     */
    public String controlExchange() { return controlExchange; }
    /**
     * Celery's {@code control_queue_ttl}: how long a command or a reply waits in a node's or a caller's queue
     * ({@code x-message-ttl}); empty: as long as the queue lives. Not used on Redis.
     */
    public Optional<Duration> controlQueueTtl() { return Optional.ofNullable(controlQueueTtl); }
    /**
     * Celery's {@code control_queue_expires}: how long a node's or a caller's queue outlives its last consumer
     * ({@code x-expires}); empty: until deleted. Not used on Redis.
     */
    public Optional<Duration> controlQueueExpires() { return Optional.ofNullable(controlQueueExpires); }

    /** The queue for a task name from {@code task_routes}, if any route matches (first match wins). */
    public Optional<String> routeFor(String taskName) {
        for (TaskRoute r : routes) {
            if (r.matches(taskName)) {
                return Optional.of(r.queue());
            }
        }
        return Optional.empty();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.brokerUrl = brokerUrl;
        b.resultBackend = resultBackend;
        b.resultExpires = resultExpires;
        b.defaultQueue = defaultQueue;
        b.acksLate = acksLate;
        b.acksOnFailureOrTimeout = acksOnFailureOrTimeout;
        b.prefetchMultiplier = prefetchMultiplier;
        b.concurrency = concurrency;
        b.pool = pool;
        b.timeLimit = timeLimit;
        b.softTimeLimit = softTimeLimit;
        b.routes = new ArrayList<>(routes);
        b.timezone = timezone;
        b.alwaysEager = alwaysEager;
        b.eagerPropagates = eagerPropagates;
        b.ignoreResult = ignoreResult;
        b.trackStarted = trackStarted;
        b.defaultRateLimit = defaultRateLimit;
        b.defaultPriority = defaultPriority;
        b.queueMaxPriority = queueMaxPriority;
        b.hostname = hostname;
        b.visibilityTimeout = visibilityTimeout;
        b.deadLetterQueue = deadLetterQueue;
        b.sendTaskEvents = sendTaskEvents;
        b.maxTasksPerChild = maxTasksPerChild;
        b.maxMemoryPerChildKb = maxMemoryPerChildKb;
        // Worker: broker connection at startup, message size.
        b.brokerConnectionRetryOnStartup = brokerConnectionRetryOnStartup;
        b.brokerConnectionMaxRetries = brokerConnectionMaxRetries;
        b.maxMessageBytes = maxMessageBytes;
        // Sending while the broker is unavailable.
        b.publishRetry = publishRetry;
        b.publishRetryPolicy = publishRetryPolicy;
        b.brokerTransportOptions = brokerTransportOptions;
        b.resultBackendTransportOptions = resultBackendTransportOptions;
        // Monitoring events and remote control.
        b.eventExchange = eventExchange;
        b.eventQueuePrefix = eventQueuePrefix;
        b.eventQueueTtl = eventQueueTtl;
        b.eventQueueExpires = eventQueueExpires;
        b.controlExchange = controlExchange;
        b.controlQueueTtl = controlQueueTtl;
        b.controlQueueExpires = controlQueueExpires;
        return b;
    }

    private static String localHost() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /** Builder with Celery's defaults. */
    public static final class Builder {
        private String brokerUrl = "memory://";
        private @Nullable String resultBackend;
        private Duration resultExpires = Duration.ofDays(1);
        private String defaultQueue = "celery";
        private boolean acksLate;
        private boolean acksOnFailureOrTimeout = true;
        private int prefetchMultiplier = 4;
        private int concurrency = Runtime.getRuntime().availableProcessors();
        private String pool = "threads";
        private @Nullable Duration timeLimit;
        private @Nullable Duration softTimeLimit;
        private List<TaskRoute> routes = new ArrayList<>();
        private ZoneId timezone = ZoneId.of("UTC");
        private boolean alwaysEager;
        private boolean eagerPropagates;
        private boolean ignoreResult;
        private boolean trackStarted;
        private @Nullable String defaultRateLimit;
        private @Nullable Integer defaultPriority;
        private @Nullable Integer queueMaxPriority;
        private @Nullable String hostname;
        private Duration visibilityTimeout = Duration.ofHours(1);
        private String deadLetterQueue = "celeriac.dead_letter";
        private boolean sendTaskEvents;
        private int maxTasksPerChild;
        private long maxMemoryPerChildKb;
        // Worker: broker connection at startup, message size.
        private boolean brokerConnectionRetryOnStartup = true;
        private @Nullable Integer brokerConnectionMaxRetries = DEFAULT_BROKER_CONNECTION_MAX_RETRIES;
        private long maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        // Sending while the broker is unavailable.
        private boolean publishRetry = true;
        private PublishRetryPolicy publishRetryPolicy = PublishRetryPolicy.CELERY_DEFAULT;
        private Map<String, Object> brokerTransportOptions = Map.of();
        private Map<String, Object> resultBackendTransportOptions = Map.of();
        // Monitoring events and remote control.
        private String eventExchange = DEFAULT_EVENT_EXCHANGE;
        private String eventQueuePrefix = DEFAULT_EVENT_QUEUE_PREFIX;
        private @Nullable Duration eventQueueTtl = DEFAULT_EVENT_QUEUE_TTL;
        private @Nullable Duration eventQueueExpires = DEFAULT_EVENT_QUEUE_EXPIRES;
        private String controlExchange = DEFAULT_CONTROL_EXCHANGE;
        private @Nullable Duration controlQueueTtl = DEFAULT_CONTROL_QUEUE_TTL;
        private @Nullable Duration controlQueueExpires = DEFAULT_CONTROL_QUEUE_EXPIRES;

        private Builder() {
        }

        public Builder brokerUrl(String v) { this.brokerUrl = v; return this; }
        public Builder resultBackend(@Nullable String v) { this.resultBackend = v; return this; }
        public Builder resultExpires(Duration v) { this.resultExpires = v; return this; }
        public Builder defaultQueue(String v) { this.defaultQueue = v; return this; }
        public Builder acksLate(boolean v) { this.acksLate = v; return this; }
        public Builder acksOnFailureOrTimeout(boolean v) { this.acksOnFailureOrTimeout = v; return this; }
        public Builder prefetchMultiplier(int v) {
            if (v < 1) {
                throw new IllegalArgumentException("worker_prefetch_multiplier must be at least 1, was " + v);
            }
            this.prefetchMultiplier = v;
            return this;
        }
        public Builder concurrency(int v) {
            if (v < 1) {
                throw new IllegalArgumentException("worker_concurrency must be at least 1, was " + v);
            }
            this.concurrency = v;
            return this;
        }
        public Builder pool(String v) {
            if (!List.of("threads", "virtual", "solo").contains(v)) {
                throw new IllegalArgumentException("worker_pool must be threads, virtual or solo, was " + v);
            }
            this.pool = v;
            return this;
        }
        public Builder timeLimit(@Nullable Duration v) { this.timeLimit = v; return this; }
        public Builder softTimeLimit(@Nullable Duration v) { this.softTimeLimit = v; return this; }
        public Builder route(String pattern, String queue) { this.routes.add(new TaskRoute(pattern, queue)); return this; }
        public Builder routes(List<TaskRoute> v) { this.routes = new ArrayList<>(v); return this; }
        public Builder timezone(ZoneId v) { this.timezone = v; return this; }
        public Builder alwaysEager(boolean v) { this.alwaysEager = v; return this; }
        public Builder eagerPropagates(boolean v) { this.eagerPropagates = v; return this; }
        public Builder ignoreResult(boolean v) { this.ignoreResult = v; return this; }
        public Builder trackStarted(boolean v) { this.trackStarted = v; return this; }
        public Builder defaultRateLimit(@Nullable String v) { this.defaultRateLimit = v; return this; }
        public Builder defaultPriority(@Nullable Integer v) { this.defaultPriority = v; return this; }
        public Builder queueMaxPriority(@Nullable Integer v) { this.queueMaxPriority = v; return this; }
        public Builder hostname(String v) { this.hostname = v; return this; }
        public Builder visibilityTimeout(Duration v) { this.visibilityTimeout = v; return this; }
        public Builder deadLetterQueue(String v) { this.deadLetterQueue = v; return this; }
        public Builder sendTaskEvents(boolean v) { this.sendTaskEvents = v; return this; }
        public Builder maxTasksPerChild(int v) { this.maxTasksPerChild = v; return this; }
        public Builder maxMemoryPerChildKb(long v) { this.maxMemoryPerChildKb = v; return this; }
        // Worker: broker connection at startup, message size.
        /** Celery's {@code broker_connection_retry_on_startup}; default true. */
        public Builder brokerConnectionRetryOnStartup(boolean v) {
            this.brokerConnectionRetryOnStartup = v;
            return this;
        }
        /**
         * Celery's {@code broker_connection_max_retries}; default {@value #DEFAULT_BROKER_CONNECTION_MAX_RETRIES}.
         * Null retries for ever; 0 gives up at the first failure.
         */
        public Builder brokerConnectionMaxRetries(@Nullable Integer v) {
            if (v != null && v < 0) {
                throw new IllegalArgumentException("broker_connection_max_retries must be 0 or more (or None), was "
                        + v);
            }
            this.brokerConnectionMaxRetries = v;
            return this;
        }
        /** {@code celeriac_max_message_bytes}; default {@link #DEFAULT_MAX_MESSAGE_BYTES} (20 MiB). */
        public Builder maxMessageBytes(long v) {
            if (v < 1024) {
                throw new IllegalArgumentException("celeriac_max_message_bytes must be at least 1024, was " + v);
            }
            this.maxMessageBytes = v;
            return this;
        }
        // Sending while the broker is unavailable.
        public Builder publishRetry(boolean v) { this.publishRetry = v; return this; }
        /** Keys the policy leaves out keep Celery's default ({@link PublishRetryPolicy#CELERY_DEFAULT}). */
        public Builder publishRetryPolicy(PublishRetryPolicy v) {
            this.publishRetryPolicy = v.orElse(PublishRetryPolicy.CELERY_DEFAULT);
            return this;
        }
        // Monitoring events and remote control. Each client declares its own event and control queues, so these
        // need not match other clients'; the exchange names must, or events and commands do not meet.
        /** Celery's {@code event_exchange}; default {@value #DEFAULT_EVENT_EXCHANGE}. */
        public Builder eventExchange(String v) {
            this.eventExchange = name("event_exchange", v);
            return this;
        }
        /** Celery's {@code event_queue_prefix}; default {@value #DEFAULT_EVENT_QUEUE_PREFIX}. */
        public Builder eventQueuePrefix(String v) {
            this.eventQueuePrefix = name("event_queue_prefix", v);
            return this;
        }
        /** Celery's {@code event_queue_ttl}; default {@link #DEFAULT_EVENT_QUEUE_TTL} (5 s); null: no limit. */
        public Builder eventQueueTtl(@Nullable Duration v) {
            this.eventQueueTtl = messageTtl("event_queue_ttl", v);
            return this;
        }
        /** Celery's {@code event_queue_expires}; default {@link #DEFAULT_EVENT_QUEUE_EXPIRES} (60 s); null: never. */
        public Builder eventQueueExpires(@Nullable Duration v) {
            this.eventQueueExpires = queueExpires("event_queue_expires", v);
            return this;
        }
        /** Celery's {@code control_exchange}; default {@value #DEFAULT_CONTROL_EXCHANGE}. */
        public Builder controlExchange(String v) {
            this.controlExchange = name("control_exchange", v);
            return this;
        }
        /** Celery's {@code control_queue_ttl}; default {@link #DEFAULT_CONTROL_QUEUE_TTL} (300 s); null: no limit. */
        public Builder controlQueueTtl(@Nullable Duration v) {
            this.controlQueueTtl = messageTtl("control_queue_ttl", v);
            return this;
        }
        /**
         * Celery's {@code control_queue_expires}; default {@link #DEFAULT_CONTROL_QUEUE_EXPIRES} (10 s); null: never.
         */
        public Builder controlQueueExpires(@Nullable Duration v) {
            this.controlQueueExpires = queueExpires("control_queue_expires", v);
            return this;
        }

        private static String name(String key, String v) {
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(key + " must be a name, was '" + v + "'");
            }
            return v;
        }

        private static @Nullable Duration messageTtl(String key, @Nullable Duration v) {
            if (v != null && v.isNegative()) {
                throw new IllegalArgumentException(key + " must be 0 or more seconds (or None), was " + v);
            }
            return v;
        }

        private static @Nullable Duration queueExpires(String key, @Nullable Duration v) {
            // RabbitMQ refuses x-expires 0, and kombu sends whole milliseconds (int(seconds * 1000)).
            if (v != null && v.toMillis() < 1) {
                throw new IllegalArgumentException(key + " must be at least 0.001 seconds (or None), was " + v);
            }
            return v;
        }

        /** Celery's {@code broker_transport_options}; null values are dropped. */
        public Builder brokerTransportOptions(Map<String, ?> v) { this.brokerTransportOptions = options(v); return this; }
        /** Celery's {@code result_backend_transport_options}; null values are dropped. */
        public Builder resultBackendTransportOptions(Map<String, ?> v) {
            this.resultBackendTransportOptions = options(v);
            return this;
        }

        private static Map<String, Object> options(Map<String, ?> v) {
            Map<String, Object> out = new LinkedHashMap<>();
            v.forEach((k, x) -> {
                if (x != null) {
                    out.put(k, x);
                }
            });
            return out;
        }

        /** Sets one setting by any accepted spelling of its key; unknown keys are refused with the list. */
        public Builder set(String key, String value) {
            String k = canonicalKey(key).orElseThrow(() -> new IllegalArgumentException(
                    "unknown setting '" + key + "'; known settings: " + KEYS));
            String v = value.trim();
            try {
                switch (k) {
                    case "broker_url" -> brokerUrl(v);
                    case "result_backend" -> resultBackend(v.isEmpty() ? null : v);
                    case "result_expires" -> resultExpires(seconds(v));
                    case "task_default_queue" -> defaultQueue(v);
                    case "task_acks_late" -> acksLate(bool(v));
                    case "task_acks_on_failure_or_timeout" -> acksOnFailureOrTimeout(bool(v));
                    case "worker_prefetch_multiplier" -> prefetchMultiplier(Integer.parseInt(v));
                    case "worker_concurrency" -> concurrency(Integer.parseInt(v));
                    case "worker_pool" -> pool(v);
                    case "task_time_limit" -> timeLimit(v.isEmpty() || v.equals("None") ? null : seconds(v));
                    case "task_soft_time_limit" -> softTimeLimit(v.isEmpty() || v.equals("None") ? null : seconds(v));
                    case "task_routes" -> routes(parseRoutes(v));
                    case "timezone" -> timezone(ZoneId.of(v));
                    case "task_always_eager" -> alwaysEager(bool(v));
                    case "task_eager_propagates" -> eagerPropagates(bool(v));
                    case "task_ignore_result" -> ignoreResult(bool(v));
                    case "task_track_started" -> trackStarted(bool(v));
                    case "task_default_rate_limit" -> defaultRateLimit(v.isEmpty() ? null : v);
                    case "task_default_priority" -> defaultPriority(v.isEmpty() ? null : Integer.parseInt(v));
                    case "task_queue_max_priority" -> queueMaxPriority(v.isEmpty() || v.equals("None") ? null
                            : Integer.parseInt(v));
                    case "worker_hostname" -> hostname(v);
                    case "visibility_timeout" -> visibilityTimeout(seconds(v));
                    case "dead_letter_queue" -> deadLetterQueue(v);
                    case "worker_send_task_events" -> sendTaskEvents(bool(v));
                    case "worker_max_tasks_per_child" -> maxTasksPerChild(Integer.parseInt(v));
                    case "worker_max_memory_per_child" -> maxMemoryPerChildKb(Long.parseLong(v));
                    // Worker: broker connection at startup, message size.
                    case "broker_connection_retry_on_startup" -> brokerConnectionRetryOnStartup(bool(v));
                    case "broker_connection_max_retries" -> brokerConnectionMaxRetries(
                            v.isEmpty() || v.equals("None") ? null : Integer.valueOf(v));
                    case "celeriac_max_message_bytes" -> maxMessageBytes(Long.parseLong(v));
                    // Sending while the broker is unavailable.
                    case "task_publish_retry" -> publishRetry(bool(v));
                    case "task_publish_retry_policy" -> publishRetryPolicy(parseRetryPolicy(v));
                    case "broker_transport_options" -> brokerTransportOptions(parseDict(k, v));
                    case "result_backend_transport_options" -> resultBackendTransportOptions(parseDict(k, v));
                    // Monitoring events and remote control.
                    case "event_exchange" -> eventExchange(v);
                    case "event_queue_prefix" -> eventQueuePrefix(v);
                    case "event_queue_ttl" -> eventQueueTtl(none(v) ? null : seconds(v));
                    case "event_queue_expires" -> eventQueueExpires(none(v) ? null : seconds(v));
                    case "control_exchange" -> controlExchange(v);
                    case "control_queue_ttl" -> controlQueueTtl(none(v) ? null : seconds(v));
                    case "control_queue_expires" -> controlQueueExpires(none(v) ? null : seconds(v));
                    default -> throw new IllegalStateException("unhandled setting " + k);
                }
            } catch (RuntimeException e) {
                if (e instanceof IllegalArgumentException && e.getMessage() != null
                        && e.getMessage().startsWith("unknown setting")) {
                    throw e;
                }
                throw new IllegalArgumentException("bad value '" + value + "' for " + key + ": " + e.getMessage(), e);
            }
            return this;
        }

        /** Applies every known key of a properties object; keys that are not settings are ignored. */
        public Builder apply(Properties p) {
            for (String name : p.stringPropertyNames()) {
                if (canonicalKey(name).isPresent()) {
                    set(name, p.getProperty(name));
                }
            }
            return this;
        }

        public Builder applyFile(Path file) {
            try (Reader r = Files.newBufferedReader(file)) {
                Properties p = new Properties();
                p.load(r);
                return apply(p);
            } catch (IOException e) {
                throw new CeleriacException("cannot read config file " + file + ": " + e.getMessage(), e);
            }
        }

        /** Applies {@code CELERIAC_*} and {@code CELERY_*} variables that name a setting. */
        public Builder applyEnvironment(Map<String, String> env) {
            for (Map.Entry<String, String> e : env.entrySet()) {
                String name = e.getKey();
                if ((name.startsWith("CELERIAC_") || name.startsWith("CELERY_")) && !name.equals("CELERIAC_CONFIG")) {
                    if (canonicalKey(name).isPresent()) {
                        set(name, e.getValue());
                    }
                }
            }
            return this;
        }

        public CeleriacConfig build() {
            if (softTimeLimit != null && timeLimit != null && softTimeLimit.compareTo(timeLimit) > 0) {
                throw new IllegalArgumentException("task_soft_time_limit (" + softTimeLimit
                        + ") must not exceed task_time_limit (" + timeLimit + ")");
            }
            return new CeleriacConfig(this);
        }

        private static boolean bool(String v) {
            return switch (v.toLowerCase(Locale.ROOT)) {
                case "true", "yes", "on", "1" -> true;
                case "false", "no", "off", "0", "" -> false;
                default -> throw new IllegalArgumentException("expected true or false");
            };
        }

        /** Python's None, as a setting's value: empty or {@code None}. */
        private static boolean none(String v) {
            return v.isEmpty() || v.equals("None");
        }

        private static Duration seconds(String v) {
            return Duration.ofNanos(Math.round(Double.parseDouble(v) * 1e9));
        }

        /** Celery's dict as JSON ({@code {"max_retries": 5}}) or as Python writes it ({@code {'max_retries': None}}). */
        /** A dict setting, as JSON or as a Python literal ({@code {'master_name': 'mymaster'}}). */
        @SuppressWarnings("unchecked")
        static Map<String, Object> parseDict(String key, String v) {
            if (v.isEmpty()) {
                return Map.of();
            }
            Object parsed;
            try {
                parsed = new ObjectMapper().readValue(v, Object.class);
            } catch (IOException notJson) {
                parsed = PythonLiteral.parse(v);
            }
            if (!(parsed instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException(key + " must be a dict such as {'master_name': 'mymaster'}");
            }
            return (Map<String, Object>) m;
        }

        static PublishRetryPolicy parseRetryPolicy(String v) {
            if (v.isEmpty()) {
                return PublishRetryPolicy.CELERY_DEFAULT;
            }
            Object parsed;
            try {
                parsed = new ObjectMapper().readValue(v, Object.class);
            } catch (IOException notJson) {
                parsed = PythonLiteral.parse(v);
            }
            if (!(parsed instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException("task_publish_retry_policy must be a dict such as "
                        + "{\"max_retries\": 3, \"interval_start\": 0, \"interval_step\": 0.2, \"interval_max\": 1}");
            }
            Map<String, Object> policy = new LinkedHashMap<>();
            m.forEach((k, x) -> policy.put(String.valueOf(k), x));
            return PublishRetryPolicy.parse(policy);
        }

        /**
         * {@code orders.*:orders, email.send:email}, or Celery's dict as JSON:
         * {@code {"orders.*": {"queue": "orders"}}}.
         */
        static List<TaskRoute> parseRoutes(String v) {
            List<TaskRoute> out = new ArrayList<>();
            if (v.isEmpty()) {
                return out;
            }
            if (v.startsWith("{")) {
                try {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> m = new ObjectMapper().readValue(v, LinkedHashMap.class);
                    for (Map.Entry<String, Object> e : m.entrySet()) {
                        Object q = e.getValue() instanceof Map<?, ?> opts ? opts.get("queue") : e.getValue();
                        out.add(new TaskRoute(e.getKey(), String.valueOf(q)));
                    }
                    return out;
                } catch (IOException e) {
                    throw new IllegalArgumentException("task_routes is not valid JSON: " + e.getMessage(), e);
                }
            }
            for (String part : v.split(",")) {
                String p = part.trim();
                int colon = p.lastIndexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException("route '" + p + "' is not of the form pattern:queue");
                }
                out.add(new TaskRoute(p.substring(0, colon).trim(), p.substring(colon + 1).trim()));
            }
            return out;
        }
    }
}
