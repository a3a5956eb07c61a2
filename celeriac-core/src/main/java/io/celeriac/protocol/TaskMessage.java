package io.celeriac.protocol;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One task message in Celery's message protocol v2: the headers, the body {@code [args, kwargs, embed]} and the kombu
 * properties that travel with it. Immutable; build one with {@link #builder(String, String)} or change a copy with
 * {@link #toBuilder()}. {@link MessageCodec} is the only class that knows how it looks as JSON.
 *
 * <p>Headers and properties this class does not model (newer Celery versions add some, Celeriac adds
 * {@code traceparent}) are kept in {@link #extraHeaders()} / {@link #extraProperties()} so that a message survives a
 * decode and re-encode unchanged.
 */
public final class TaskMessage {
    // Headers
    private final String task;
    private final String id;
    private final @Nullable String lang;
    private final @Nullable String shadow;
    private final @Nullable Instant eta;
    private final @Nullable Instant expires;
    private final @Nullable String group;
    private final @Nullable Integer groupIndex;
    private final int retries;
    private final @Nullable Double timeLimit;
    private final @Nullable Double softTimeLimit;
    private final @Nullable String rootId;
    private final @Nullable String parentId;
    private final @Nullable String argsRepr;
    private final @Nullable String kwargsRepr;
    private final @Nullable String origin;
    private final boolean ignoreResult;
    private final Map<String, Object> extraHeaders;
    // Body
    private final List<Object> args;
    private final Map<String, Object> kwargs;
    private final @Nullable List<Object> callbacks;
    private final @Nullable List<Object> errbacks;
    private final @Nullable List<Object> chain;
    private final @Nullable Map<String, Object> chord;
    // Properties
    private final String correlationId;
    private final @Nullable String replyTo;
    private final int deliveryMode;
    private final String exchange;
    private final @Nullable String routingKey;
    private final int priority;
    private final @Nullable String deliveryTag;
    private final Map<String, Object> extraProperties;

    private TaskMessage(Builder b) {
        this.task = Objects.requireNonNull(b.task, "task");
        this.id = Objects.requireNonNull(b.id, "id");
        this.lang = b.lang;
        this.shadow = b.shadow;
        this.eta = b.eta;
        this.expires = b.expires;
        this.group = b.group;
        this.groupIndex = b.groupIndex;
        this.retries = b.retries;
        this.timeLimit = b.timeLimit;
        this.softTimeLimit = b.softTimeLimit;
        this.rootId = b.rootId;
        this.parentId = b.parentId;
        this.argsRepr = b.argsRepr;
        this.kwargsRepr = b.kwargsRepr;
        this.origin = b.origin;
        this.ignoreResult = b.ignoreResult;
        this.extraHeaders = JsonValues.immutableMap(b.extraHeaders);
        this.args = JsonValues.immutableList(b.args);
        this.kwargs = JsonValues.immutableMap(b.kwargs);
        this.callbacks = b.callbacks == null ? null : JsonValues.immutableList(b.callbacks);
        this.errbacks = b.errbacks == null ? null : JsonValues.immutableList(b.errbacks);
        this.chain = b.chain == null ? null : JsonValues.immutableList(b.chain);
        this.chord = b.chord == null ? null : JsonValues.immutableMap(b.chord);
        this.correlationId = b.correlationId == null ? b.id : b.correlationId;
        this.replyTo = b.replyTo;
        this.deliveryMode = b.deliveryMode;
        this.exchange = b.exchange == null ? "" : b.exchange;
        this.routingKey = b.routingKey;
        this.priority = b.priority;
        this.deliveryTag = b.deliveryTag;
        this.extraProperties = JsonValues.immutableMap(b.extraProperties);
    }

    public static Builder builder(String task, String id) {
        return new Builder().task(task).id(id);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.task = task;
        b.id = id;
        b.lang = lang;
        b.shadow = shadow;
        b.eta = eta;
        b.expires = expires;
        b.group = group;
        b.groupIndex = groupIndex;
        b.retries = retries;
        b.timeLimit = timeLimit;
        b.softTimeLimit = softTimeLimit;
        b.rootId = rootId;
        b.parentId = parentId;
        b.argsRepr = argsRepr;
        b.kwargsRepr = kwargsRepr;
        b.origin = origin;
        b.ignoreResult = ignoreResult;
        b.extraHeaders = extraHeaders;
        b.args = args;
        b.kwargs = kwargs;
        b.callbacks = callbacks;
        b.errbacks = errbacks;
        b.chain = chain;
        b.chord = chord;
        b.correlationId = correlationId;
        b.replyTo = replyTo;
        b.deliveryMode = deliveryMode;
        b.exchange = exchange;
        b.routingKey = routingKey;
        b.priority = priority;
        b.deliveryTag = deliveryTag;
        b.extraProperties = extraProperties;
        return b;
    }

    /** Registered task name ({@code task} header). */
    public String task() { return task; }
    /** Task id ({@code id} header, also {@code correlation_id}). */
    public String id() { return id; }
    /** {@code py} from Python producers, {@code java} from ours. */
    public @Nullable String lang() { return lang; }
    public @Nullable String shadow() { return shadow; }
    /** Earliest time to run, or null to run at once. */
    public @Nullable Instant eta() { return eta; }
    /** After this instant the task is revoked without running; null = never. */
    public @Nullable Instant expires() { return expires; }
    public @Nullable String group() { return group; }
    public @Nullable Integer groupIndex() { return groupIndex; }
    public int retries() { return retries; }
    /** Hard time limit in seconds ({@code timelimit[0]}), or null for the worker's default. */
    public @Nullable Double timeLimit() { return timeLimit; }
    /** Soft time limit in seconds ({@code timelimit[1]}), or null for the worker's default. */
    public @Nullable Double softTimeLimit() { return softTimeLimit; }
    public @Nullable String rootId() { return rootId; }
    public @Nullable String parentId() { return parentId; }
    public @Nullable String argsRepr() { return argsRepr; }
    public @Nullable String kwargsRepr() { return kwargsRepr; }
    public @Nullable String origin() { return origin; }
    public boolean ignoreResult() { return ignoreResult; }
    public Map<String, Object> extraHeaders() { return extraHeaders; }
    /** Positional arguments as JSON values. */
    public List<Object> args() { return args; }
    /** Keyword arguments as JSON values. */
    public Map<String, Object> kwargs() { return kwargs; }
    /** {@code embed.callbacks}: signatures to call with the result ({@code link}); null when absent. */
    public @Nullable List<Object> callbacks() { return callbacks; }
    /** {@code embed.errbacks}: signatures to call on failure ({@code link_error}); null when absent. */
    public @Nullable List<Object> errbacks() { return errbacks; }
    /** {@code embed.chain}: the remaining chain, reversed (next step last); null when absent. */
    public @Nullable List<Object> chain() { return chain; }
    /** {@code embed.chord}: the chord callback signature; null when absent. */
    public @Nullable Map<String, Object> chord() { return chord; }
    public String correlationId() { return correlationId; }
    public @Nullable String replyTo() { return replyTo; }
    public int deliveryMode() { return deliveryMode; }
    public String exchange() { return exchange; }
    public @Nullable String routingKey() { return routingKey; }
    /** 0-9; on Redis a lower number is served first (kombu's rule). */
    public int priority() { return priority; }
    /** Fresh per publish; the key kombu acks by. */
    public @Nullable String deliveryTag() { return deliveryTag; }
    public Map<String, Object> extraProperties() { return extraProperties; }

    @Override
    public boolean equals(@Nullable Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TaskMessage m)) {
            return false;
        }
        return retries == m.retries && ignoreResult == m.ignoreResult && deliveryMode == m.deliveryMode
                && priority == m.priority && task.equals(m.task) && id.equals(m.id) && Objects.equals(lang, m.lang)
                && Objects.equals(shadow, m.shadow) && Objects.equals(eta, m.eta)
                && Objects.equals(expires, m.expires) && Objects.equals(group, m.group)
                && Objects.equals(groupIndex, m.groupIndex) && Objects.equals(timeLimit, m.timeLimit)
                && Objects.equals(softTimeLimit, m.softTimeLimit) && Objects.equals(rootId, m.rootId)
                && Objects.equals(parentId, m.parentId) && Objects.equals(argsRepr, m.argsRepr)
                && Objects.equals(kwargsRepr, m.kwargsRepr) && Objects.equals(origin, m.origin)
                && extraHeaders.equals(m.extraHeaders) && args.equals(m.args) && kwargs.equals(m.kwargs)
                && Objects.equals(callbacks, m.callbacks) && Objects.equals(errbacks, m.errbacks)
                && Objects.equals(chain, m.chain) && Objects.equals(chord, m.chord)
                && Objects.equals(correlationId, m.correlationId) && Objects.equals(replyTo, m.replyTo)
                && Objects.equals(exchange, m.exchange) && Objects.equals(routingKey, m.routingKey)
                && Objects.equals(deliveryTag, m.deliveryTag) && extraProperties.equals(m.extraProperties);
    }

    @Override
    public int hashCode() {
        return Objects.hash(task, id, eta, retries, args, kwargs, deliveryTag);
    }

    @Override
    public String toString() {
        return "TaskMessage{" + task + "[" + id + "] args=" + args + " kwargs=" + kwargs
                + (eta == null ? "" : " eta=" + eta) + (retries == 0 ? "" : " retries=" + retries) + "}";
    }

    /** Builder for {@link TaskMessage}; defaults match what Celery's producer writes. */
    public static final class Builder {
        private @Nullable String task;
        private @Nullable String id;
        private @Nullable String lang = "py";
        private @Nullable String shadow;
        private @Nullable Instant eta;
        private @Nullable Instant expires;
        private @Nullable String group;
        private @Nullable Integer groupIndex;
        private int retries;
        private @Nullable Double timeLimit;
        private @Nullable Double softTimeLimit;
        private @Nullable String rootId;
        private @Nullable String parentId;
        private @Nullable String argsRepr;
        private @Nullable String kwargsRepr;
        private @Nullable String origin;
        private boolean ignoreResult;
        private @Nullable Map<String, Object> extraHeaders;
        private @Nullable List<Object> args;
        private @Nullable Map<String, Object> kwargs;
        private @Nullable List<Object> callbacks;
        private @Nullable List<Object> errbacks;
        private @Nullable List<Object> chain;
        private @Nullable Map<String, Object> chord;
        private @Nullable String correlationId;
        private @Nullable String replyTo;
        private int deliveryMode = 2;
        private @Nullable String exchange = "";
        private @Nullable String routingKey = "celery";
        private int priority;
        private @Nullable String deliveryTag;
        private @Nullable Map<String, Object> extraProperties;

        private Builder() {
        }

        public Builder task(String v) { this.task = v; return this; }
        public Builder id(String v) { this.id = v; return this; }
        public Builder lang(@Nullable String v) { this.lang = v; return this; }
        public Builder shadow(@Nullable String v) { this.shadow = v; return this; }
        public Builder eta(@Nullable Instant v) { this.eta = v; return this; }
        public Builder expires(@Nullable Instant v) { this.expires = v; return this; }
        public Builder group(@Nullable String v) { this.group = v; return this; }
        public Builder groupIndex(@Nullable Integer v) { this.groupIndex = v; return this; }
        public Builder retries(int v) { this.retries = v; return this; }
        public Builder timeLimit(@Nullable Double v) { this.timeLimit = v; return this; }
        public Builder softTimeLimit(@Nullable Double v) { this.softTimeLimit = v; return this; }
        public Builder rootId(@Nullable String v) { this.rootId = v; return this; }
        public Builder parentId(@Nullable String v) { this.parentId = v; return this; }
        public Builder argsRepr(@Nullable String v) { this.argsRepr = v; return this; }
        public Builder kwargsRepr(@Nullable String v) { this.kwargsRepr = v; return this; }
        public Builder origin(@Nullable String v) { this.origin = v; return this; }
        public Builder ignoreResult(boolean v) { this.ignoreResult = v; return this; }
        public Builder extraHeaders(@Nullable Map<String, Object> v) { this.extraHeaders = v; return this; }
        public Builder args(@Nullable List<?> v) { this.args = v == null ? null : JsonValues.immutableList(v); return this; }
        public Builder kwargs(@Nullable Map<String, ?> v) { this.kwargs = v == null ? null : JsonValues.immutableMap(v); return this; }
        public Builder callbacks(@Nullable List<?> v) { this.callbacks = v == null ? null : JsonValues.immutableList(v); return this; }
        public Builder errbacks(@Nullable List<?> v) { this.errbacks = v == null ? null : JsonValues.immutableList(v); return this; }
        public Builder chain(@Nullable List<?> v) { this.chain = v == null ? null : JsonValues.immutableList(v); return this; }
        public Builder chord(@Nullable Map<String, ?> v) { this.chord = v == null ? null : JsonValues.immutableMap(v); return this; }
        public Builder correlationId(@Nullable String v) { this.correlationId = v; return this; }
        public Builder replyTo(@Nullable String v) { this.replyTo = v; return this; }
        public Builder deliveryMode(int v) { this.deliveryMode = v; return this; }
        public Builder exchange(@Nullable String v) { this.exchange = v; return this; }
        public Builder routingKey(@Nullable String v) { this.routingKey = v; return this; }
        public Builder priority(int v) { this.priority = v; return this; }
        public Builder deliveryTag(@Nullable String v) { this.deliveryTag = v; return this; }
        public Builder extraProperties(@Nullable Map<String, Object> v) { this.extraProperties = v; return this; }

        public TaskMessage build() {
            return new TaskMessage(this);
        }
    }
}
