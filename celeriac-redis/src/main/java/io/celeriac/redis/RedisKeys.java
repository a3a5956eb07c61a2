package io.celeriac.redis;

import io.celeriac.CeleriacException;
import io.celeriac.broker.PriorityLists;
import org.jspecify.annotations.Nullable;

/**
 * The names of the broker's keys in one key space. On a plain server (and Sentinel) there is one key space,
 * {@link #PLAIN}: kombu's names exactly ({@code <queue>}, {@code unacked}, {@code unacked_index}, ...), shared with
 * Python Celery. On Redis Cluster each queue has a key space of its own ({@link #ofQueue}): every key starts with
 * the hash tag {@code {<queue>}}, so all of one queue's keys (its lists, its unacked records, its consumers'
 * heartbeats and notes, its schedule and dead letters) sit in one slot, where one script can touch them all, and
 * different queues hash to different slots, spread over the masters. That layout is Celeriac's own (Python Celery
 * cannot use a cluster); docs/redis.md, "Redis Cluster", lists it.
 *
 * <p>kombu's {@code global_keyprefix} transport option puts a prefix before every name of kombu's key space
 * ({@link #plain(String)}), as kombu's prefixing client does for every key and channel it touches; with a hash tag
 * as the prefix ({@code {celery}}) the whole broker sits in one slot, which is how a Python Celery shares a Redis
 * Cluster node with us (docs/redis.md, "Mixed fleets on Redis Cluster").
 */
final class RedisKeys {
    static final String UNACKED = "unacked";
    static final String UNACKED_INDEX = "unacked_index";
    static final String SCHEDULED = "celeriac.scheduled";
    static final String CONSUMERS = "celeriac.consumers";
    static final String HEARTBEAT_PREFIX = "celeriac.consumer.";
    static final String UNACKED_PREFIX = "celeriac.unacked.";
    static final String RESERVING_PREFIX = "celeriac.reserving.";
    static final String HEARTBEAT_LAST = "celeriac.heartbeat.last";
    static final String REAP_AFTER = "celeriac.reap.after";
    /** On a cluster: the set of queues consumed so far (one key of its own), so any consumer recovers every queue. */
    static final String CLUSTER_QUEUES = "celeriac.cluster.queues";

    /** kombu's layout: one key space for all queues. */
    static final RedisKeys PLAIN = new RedisKeys(null, "");

    /** The queue whose slot this key space is, or null for kombu's single key space. */
    private final @Nullable String queue;
    private final String tag;
    /** kombu's {@code global_keyprefix} (kombu's key space only; empty without one). */
    private final String prefix;

    private RedisKeys(@Nullable String queue, String prefix) {
        this.queue = queue;
        this.tag = queue == null ? "" : "{" + queue + "}";
        this.prefix = prefix;
    }

    /** kombu's layout with kombu's {@code global_keyprefix} before every name ({@link #PLAIN} without one). */
    static RedisKeys plain(String globalKeyPrefix) {
        return globalKeyPrefix.isEmpty() ? PLAIN : new RedisKeys(null, globalKeyPrefix);
    }

    /** A cluster queue's own key space, all in the slot of the hash tag {@code {<queue>}}. */
    static RedisKeys ofQueue(String queue) {
        if (queue.isEmpty() || queue.startsWith("}")) {
            // "{}..." is no hash tag: the queue's keys would scatter over slots and no script could touch them all.
            throw new CeleriacException("queue name '" + queue + "' cannot be used on Redis Cluster: its hash tag {"
                    + queue + "} would be empty; rename the queue");
        }
        return new RedisKeys(queue, "");
    }

    /** The queue this key space belongs to, or null for kombu's single key space (every queue). */
    @Nullable String queue() {
        return queue;
    }

    /** A queue's list for a priority step (kombu's names on a plain server; {@code {<queue>}...} on a cluster). */
    String list(String q, int step) {
        if (queue == null) {
            return prefix + PriorityLists.listKey(q, step);
        }
        if (!queue.equals(q)) {
            throw new IllegalArgumentException("queue " + q + " is not in the key space of " + queue);
        }
        return PriorityLists.listKey(tag, step);
    }

    String unacked() {
        return tag.isEmpty() ? prefix + UNACKED : tag + "." + UNACKED;
    }

    String unackedIndex() {
        return tag.isEmpty() ? prefix + UNACKED_INDEX : tag + "." + UNACKED_INDEX;
    }

    String scheduled() {
        return named(SCHEDULED);
    }

    String consumers() {
        return named(CONSUMERS);
    }

    String heartbeat(String consumer) {
        return named(HEARTBEAT_PREFIX + consumer);
    }

    /** The set of tags one consumer holds. */
    String heldBy(String consumer) {
        return named(UNACKED_PREFIX + consumer);
    }

    String reserving(String consumer) {
        return named(RESERVING_PREFIX + consumer);
    }

    String heartbeatLast() {
        return named(HEARTBEAT_LAST);
    }

    String reapAfter() {
        return named(REAP_AFTER);
    }

    /** The dead-letter list (the configured name; on a cluster, one per queue, in the queue's slot). */
    String deadLetter(String name) {
        return named(name);
    }

    /** A once-only publishing key (kombu's layout: the key itself; on a cluster, in the queue's slot). */
    String once(String key) {
        return named(key);
    }

    /**
     * kombu's set of an exchange's bindings ({@code _kombu.binding.<exchange>}). Not in a queue's slot on a cluster:
     * nothing reads it together with a queue's keys in one script.
     */
    String binding(String exchange) {
        return prefix + "_kombu.binding." + exchange;
    }

    /** A pub/sub channel or a reply list (kombu prefixes those too). */
    String channel(String name) {
        return prefix + name;
    }

    private String named(String name) {
        return tag.isEmpty() ? prefix + name : tag + "." + name;
    }

    @Override
    public String toString() {
        return queue != null ? "the key space " + tag
                : prefix.isEmpty() ? "kombu's layout" : "kombu's layout under the prefix " + prefix;
    }
}
