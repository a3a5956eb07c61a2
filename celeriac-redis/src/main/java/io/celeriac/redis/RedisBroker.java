package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.CeleriacException;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ControlBus;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.EventBus;
import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.PriorityLists;
import io.celeriac.broker.Reservation;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Redis broker, laid out exactly as kombu lays it out so Python Celery producers and workers share our queues:
 * a queue is a list (priority sub-lists {@code <queue>\x06\x16<3|6|9>}) of kombu JSON envelopes
 * ({@link KombuEnvelope}), delivered messages sit in kombu's {@code unacked} hash and {@code unacked_index} zset,
 * bindings in {@code _kombu.binding.<queue>}. This class moves task messages (publish, reserve, settle); its parts
 * do the rest: {@link ConsumerLiveness} (heartbeat and reaper, with {@link UnackedRestorer}), {@link EtaMover},
 * {@link RedisDeadLetterQueue}, {@link RedisPidbox} (remote control), {@link RedisEventBus} and
 * {@link RedisOnceDispatch}.
 *
 * <p>What we add to kombu: reserving a batch and recording it as unacked is one Lua script (kombu's pop-then-record
 * has a window that loses messages), serving the queues in turn as kombu does; every consumer keeps a heartbeat so
 * its messages are recovered as soon as it dies rather than after the one-hour visibility timeout, judged on Redis's
 * clock and held after Redis itself was away; ETA messages are published to their queue as Celery publishes them,
 * and a Celeriac worker hands one it receives early back to {@code celeriac.scheduled} ({@link #defer}) rather than
 * hold it in memory; what is not a message (not an envelope, not UTF-8, too large) goes to the dead-letter list and
 * is never handed out. docs/redis.md has the full key layout.
 *
 * <p>On Redis Cluster ({@code redis+cluster://}) the same keys live in a layout of Celeriac's own, one slot per queue
 * ({@link RedisKeys}): a reserve calls the script once per queue's slot and keeps kombu's turn between queues here,
 * heartbeats and recovery run per slot, and results are left to the result backend. docs/redis.md, "Redis Cluster".
 */
public final class RedisBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(RedisBroker.class);
    static final String SEP = PriorityLists.SEP;
    static final int[] STEPS = PriorityLists.STEPS;
    static final String UNACKED = RedisKeys.UNACKED;
    static final String UNACKED_INDEX = RedisKeys.UNACKED_INDEX;
    static final String SCHEDULED = RedisKeys.SCHEDULED;
    static final String CONSUMERS = UnackedRestorer.CONSUMERS;

    private static final LuaScript RESERVE = new LuaScript("reserve", "ack_held");
    private static final LuaScript ACK = new LuaScript("ack", "ack_held");
    private static final LuaScript SETTLE = new LuaScript("settle");
    private static final byte[][] NO_TAGS = new byte[0][];

    private final RedisUrl url;
    private final MessageCodec codec;
    private final KombuEnvelope kombu;
    private final Clock clock;
    private final RedisConnector redis;
    private final long maxMessageBytes;
    private final String consumerId = UUID.randomUUID().toString();
    private final String deadLetterKey;
    private final Map<String, StatefulConnection<String, String>> waiters = new ConcurrentHashMap<>();
    private final Map<String, RedisFuture<String>> pendingWaits = new ConcurrentHashMap<>();
    private final Map<List<String>, ReserveCycle> cycles = new ConcurrentHashMap<>();
    /** On a cluster: one cycle per list of queues, each queue reserved from its own slot. */
    private final Map<List<String>, ShardedCycle> shardedCycles = new ConcurrentHashMap<>();
    /** On a cluster: each queue's key space, by queue. */
    private final Map<String, RedisKeys> spaces = new ConcurrentHashMap<>();
    /** The key spaces this consumer beats in: kombu's one, or on a cluster each consumed queue's slot. */
    private final Set<RedisKeys> beating = ConcurrentHashMap.newKeySet();
    private final Queue<Undeliverable> undeliverable = new ConcurrentLinkedQueue<>();
    private final AtomicLong deadSeq = new AtomicLong();
    private final ConsumerLiveness liveness;
    private final EtaMover etaMover;
    private final RedisPubSub pubsub;
    private final RedisDeadLetterQueue deadLetters;
    private final RedisPidbox pidbox;
    private final RedisEventBus events;
    private final RedisOnceDispatch once;
    private final ReplicaAcks replicaAcks;
    /** kombu's key space, under kombu's {@code global_keyprefix} if one is set. */
    private final RedisKeys plain;
    private volatile @Nullable Thread etaThread;
    private volatile @Nullable Thread heartbeatThread;
    private volatile @Nullable Thread recoverThread;
    private volatile boolean consuming;
    private volatile boolean closed;

    public RedisBroker(String url, CeleriacConfig config) {
        this(RedisUrl.parse(url).withTransportOptions(config.brokerTransportOptions()), config, new MessageCodec(config.maxMessageBytes()), Clock.systemUTC());
    }

    public RedisBroker(RedisUrl url, CeleriacConfig config, MessageCodec codec, Clock clock) {
        this.url = url;
        this.codec = codec;
        this.kombu = new KombuEnvelope(codec);
        this.clock = clock;
        this.maxMessageBytes = config.maxMessageBytes();
        this.deadLetterKey = config.deadLetterQueue();
        this.plain = RedisKeys.plain(globalKeyPrefix(url, config));
        this.redis = new RedisConnector(url, "Redis broker");
        UnackedRestorer restorer = new UnackedRestorer(redis, codec, this::now, config.visibilityTimeout(),
                deadLetterKey, ConsumerLiveness.HEARTBEAT_GAP,
                ConsumerLiveness.HEARTBEAT_TTL.plus(ConsumerLiveness.REAP_GRACE));
        if (!redis.isCluster()) {
            beating.add(plain);
        }
        this.liveness = new ConsumerLiveness(redis, consumerId, restorer, () -> beating, this::knownSpaces);
        this.etaMover = new EtaMover(redis, codec, this::now, deadLetterKey, this::knownSpaces);
        this.pubsub = new RedisPubSub(redis);
        this.deadLetters = new RedisDeadLetterQueue(redis, codec, kombu, deadLetterKey, this::knownSpaces);
        this.pidbox = new RedisPidbox(redis, pubsub, codec, kombu, this::now, url.db(), config.controlExchange(),
                plain);
        this.events = new RedisEventBus(redis, pubsub, codec, kombu, url.db(), config.eventExchange(), plain);
        this.replicaAcks = ReplicaAcks.from(redis, url, config.brokerTransportOptions());
        this.once = new RedisOnceDispatch(redis, kombu, replicaAcks, this::space, this::knownSpaces);
    }

    /**
     * kombu's {@code global_keyprefix} from {@code broker_transport_options}, checked: on Redis Cluster the queues are
     * sharded by their own hash tags, and a prefix would put them all in one slot; a mixed fleet points both sides
     * at the node serving the prefix's hash tag instead (docs/redis.md).
     */
    static String globalKeyPrefix(RedisUrl url, CeleriacConfig config) {
        Object prefix = config.brokerTransportOptions().get("global_keyprefix");
        if (prefix == null || prefix.toString().isEmpty()) {
            return "";
        }
        if (url.isCluster()) {
            throw new CeleriacException("global_keyprefix '" + prefix + "' cannot be used with " + url
                    + ": a redis+cluster:// broker shards each queue in its own slot. To share queues with Python"
                    + " Celery on a cluster, connect both with redis://<the master serving " + prefix
                    + "> and the same global_keyprefix (docs/redis.md, \"Mixed fleets on Redis Cluster\")");
        }
        return prefix.toString();
    }

    /** The shared connection (a plain server only; tests read keys through it). */
    RedisCommands<String, String> sync() {
        return redis.connection().sync();
    }

    /** The key space of a queue: kombu's one on a plain server; on a cluster the queue's own slot. */
    private RedisKeys space(String queue) {
        return redis.isCluster() ? spaces.computeIfAbsent(queue, RedisKeys::ofQueue) : plain;
    }

    /**
     * Every key space whose messages may need recovering or moving: kombu's one, or on a cluster every queue any
     * consumer consumed so far ({@code celeriac.cluster.queues}), so that a dead consumer's messages come back
     * whichever live consumer looks.
     */
    private Collection<RedisKeys> knownSpaces() {
        if (!redis.isCluster()) {
            return List.of(plain);
        }
        Set<RedisKeys> all = new java.util.LinkedHashSet<>(beating);
        try {
            for (String q : redis.connectionFor(RedisKeys.CLUSTER_QUEUES).sync()
                    .smembers(RedisKeys.CLUSTER_QUEUES)) {
                all.add(space(q));
            }
        } catch (RuntimeException e) {
            // The registry's master is away (a failover under way): every queue seen so far still gets looked at.
            log.debug("could not read {}: {}", RedisKeys.CLUSTER_QUEUES, e.toString());
            all.addAll(spaces.values());
        }
        return all;
    }

    /**
     * On a cluster, before anything can be recorded as ours in a queue's slot: a first heartbeat there (so what we
     * hold is always recoverable) and the queue's name in {@code celeriac.cluster.queues} (so every consumer's
     * reaper looks there).
     */
    private void consumeIn(RedisKeys space) {
        if (beating.contains(space)) {
            return;
        }
        liveness.beat(space);
        redis.connectionFor(RedisKeys.CLUSTER_QUEUES).sync().sadd(RedisKeys.CLUSTER_QUEUES, space.queue());
        beating.add(space);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** This consumer's id (its heartbeat key is {@code celeriac.consumer.<id>}). */
    public String consumerId() {
        return consumerId;
    }

    static String listKey(String queue, int step) {
        return PriorityLists.listKey(queue, step);
    }

    static int step(int priority) {
        return PriorityLists.step(priority);
    }

    private static double epochSeconds(Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    private double now() {
        return epochSeconds(clock.instant());
    }

    @Override
    public Optional<DeadLetterQueue> deadLetterQueue() {
        return Optional.of(deadLetters);
    }

    @Override
    public Optional<ControlBus> controlBus() {
        return Optional.of(pidbox);
    }

    @Override
    public Optional<EventBus> eventBus() {
        return Optional.of(events);
    }

    /** On a cluster the once-key sits in the queue's slot, once per queue ({@link RedisOnceDispatch}). */
    @Override
    public Optional<OnceDispatch> onceDispatch() {
        return Optional.of(once);
    }

    // ------------------------------------------------------------------ publishing

    /** Messages encoded and sent per command while a batch is published (see {@link #publish}). */
    private static final int PUBLISH_SLICE = 128;

    @Override
    public void publish(List<OutboundMessage> messages) {
        if (messages.isEmpty()) {
            return;
        }
        // A message with an ETA goes to its queue like any other, as Celery publishes it (the eta header carries the
        // time), so that Python workers run it too: they hold it in memory until due, as Celery 5 does. A Celeriac
        // worker that receives it early hands it back with defer() instead of holding it.
        // One connection on a plain server; on a cluster, one per master, each list's pushes on the connection to the
        // master of its slot (each followed by its own WAIT there, since WAIT counts its connection's writes).
        Map<StatefulRedisConnection<String, String>, RedisAsyncCommands<String, String>> nodes = new LinkedHashMap<>();
        List<RedisFuture<?>> futures = new ArrayList<>();
        List<RedisFuture<Long>> replicated = new ArrayList<>();
        try {
            // All commands go out back to back on one connection, without waiting in between: one round trip for the
            // whole batch. Each slice goes out as soon as it is encoded, so Redis and the connection's thread work on
            // it while the next slice is encoded; commands keep their order on the connection, and so the messages
            // of each list keep theirs.
            for (int from = 0; from < messages.size(); from += PUBLISH_SLICE) {
                Map<String, List<String>> byList = new LinkedHashMap<>();
                for (OutboundMessage m : messages.subList(from, Math.min(messages.size(), from + PUBLISH_SLICE))) {
                    byList.computeIfAbsent(space(m.queue()).list(m.queue(), step(m.priority())),
                            k -> new ArrayList<>()).add(envelope(kombu, m));
                }
                for (Map.Entry<String, List<String>> e : byList.entrySet()) {
                    StatefulRedisConnection<String, String> c = redis.isCluster()
                            ? redis.connectionFor(e.getKey()) : replicaAcks.connection();
                    futures.add(nodes.computeIfAbsent(c, StatefulRedisConnection::async)
                            .lpush(e.getKey(), e.getValue().toArray(String[]::new)));
                }
            }
            for (RedisAsyncCommands<String, String> async : nodes.values()) {
                RedisFuture<Long> wait = replicaAcks.request(async);
                if (wait != null) {
                    replicated.add(wait);
                }
            }
            for (RedisFuture<?> f : futures) {
                f.get(10, TimeUnit.SECONDS);
            }
            for (RedisFuture<Long> wait : replicated) {
                replicaAcks.acknowledged(wait.get(10, TimeUnit.SECONDS), "Publishing " + messages.size()
                        + " message(s)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerUnavailableException("interrupted while publishing " + messages.size()
                    + " message(s); some may not be queued", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            throw redis.unavailable("Publishing " + messages.size()
                    + " message(s) (some may not be queued; send again)", e);
        }
    }

    /**
     * The envelope of a message to publish, with the properties kombu's Redis transport assigns when the producer
     * left them out: {@code delivery_info} (default exchange, the queue as routing key) and a {@code delivery_tag}.
     */
    static String envelope(KombuEnvelope kombu, OutboundMessage out) {
        BrokerMessage m = out.message();
        if (m.property("delivery_tag") == null) {
            m = m.withProperty("delivery_tag", UUID.randomUUID().toString());
        }
        if (!(m.properties().get("delivery_info") instanceof Map<?, ?>)) {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("exchange", "");
            info.put("routing_key", out.queue());
            m = m.withProperty("delivery_info", info);
        }
        return kombu.encode(m);
    }

    @Override
    public void declare(Collection<String> queues) {
        try {
            for (String q : queues) {
                // kombu's binding for a queue on the default direct exchange: <routing key>\x06\x16<pattern>\x06\x16<queue>
                String bindings = space(q).binding(q);
                redis.connectionFor(bindings).sync().sadd(bindings, q + SEP + SEP + q);
            }
        } catch (RuntimeException e) {
            throw redis.unavailable("Declaring queues " + queues, e);
        }
    }

    // ------------------------------------------------------------------ consuming

    @Override
    public List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException {
        return ackAndReserve(List.of(), queues, max, wait);
    }

    /** One {@code reserve.lua} call acks and reserves: one round trip where an ack and a reserve took two. */
    @Override
    public List<Delivery> ackAndReserve(Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        return reserve(acks, RedisResultBackend.ScriptWrites.NONE, queues, max, wait);
    }

    /**
     * A Redis result backend on this server (any database) has its results written by the reserve script, ahead of
     * the acks, as its own {@code store} would write them ({@code SET ... PX}, then {@code PUBLISH}).
     */
    @Override
    public boolean storesResultsOf(ResultBackend backend) {
        // Not on a cluster: the result keys would have to share the queue's slot. The backend stores them itself.
        return !url.isCluster() && backend instanceof RedisResultBackend r && r.onServerOf(url);
    }

    /** One {@code reserve.lua} call stores the results, acks and reserves. */
    @Override
    public List<Delivery> storeAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                             Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        if (results.isEmpty() || !storesResultsOf(backend)) {
            return Broker.super.storeAckAndReserve(backend, results, acks, queues, max, wait);
        }
        return reserve(acks, ((RedisResultBackend) backend).scriptWrites(results), queues, max, wait);
    }

    private List<Delivery> reserve(Collection<Delivery> acks, RedisResultBackend.ScriptWrites writes,
                                   List<String> queues, int max,
                                   Duration wait) throws InterruptedException {
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("reserve needs at least one queue");
        }
        if (redis.isCluster()) {
            return reserveSharded(acks, queues, max, wait);
        }
        byte[][] tags = ackTokens(acks);
        ReserveCycle cycle = consumingCycle(queues);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            List<Delivery> got = reserveNow(cycle, max, tags, writes);
            tags = NO_TAGS;
            writes = RedisResultBackend.ScriptWrites.NONE;
            if (!got.isEmpty()) {
                return got;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) {
                return List.of();
            }
            waitForAny(cycle.lists, left);
        }
    }

    private static byte[][] ackTokens(Collection<Delivery> acks) {
        byte[][] tags = new byte[acks.size()][];
        int t = 0;
        for (Delivery d : acks) {
            tags[t++] = b(RedisDelivery.of(d).ackToken());
        }
        return tags;
    }

    /** The reserve cycle of {@code queues}, once this consumer is registered (its messages recoverable). */
    private ReserveCycle consumingCycle(List<String> queues) {
        startConsuming();
        return cycles.computeIfAbsent(List.copyOf(queues), qs -> new ReserveCycle(qs, plain));
    }

    /**
     * The keys reserve.lua takes for one list of queues, and kombu's round-robin order of those queues (1-based),
     * carried from one reserve call to the next as kombu's {@code _queue_cycle} is: reserve.lua keeps it in Redis,
     * so that a call sent before the last one's answer came back starts where that one stopped; the copy here, from
     * the last answer, is sent for when Redis has none.
     */
    private final class ReserveCycle {
        final List<String> queues;
        final RedisKeys space;
        final List<String> lists;
        final byte[][] keys;
        final int[] order;
        /** The queues' name in this consumer's note, under which reserve.lua keeps their order. */
        final byte[] name;
        /**
         * The ids of calls whose answers never came (Redis may have run them), until a call that carried them is
         * answered. Guarded by this cycle, as is {@link #underWay}.
         */
        final List<String> lost = new ArrayList<>();
        /** The ids of calls sent and neither answered nor failed yet: the calls sent meanwhile keep their notes. */
        final Set<String> underWay = new LinkedHashSet<>();

        ReserveCycle(List<String> queues, RedisKeys space) {
            this.queues = queues;
            this.space = space;
            this.lists = new ArrayList<>(queues.size() * STEPS.length);
            for (String q : queues) {
                for (int s : STEPS) {
                    lists.add(space.list(q, s));
                }
            }
            this.keys = new byte[lists.size() + 5][];
            for (int i = 0; i < lists.size(); i++) {
                keys[i] = b(lists.get(i));
            }
            keys[lists.size()] = b(space.unacked());
            keys[lists.size() + 1] = b(space.unackedIndex());
            keys[lists.size() + 2] = b(space.heldBy(consumerId));
            keys[lists.size() + 3] = b(space.deadLetter(deadLetterKey));
            // What this consumer's last reserve took, so that a call whose answer was lost strands nothing.
            keys[lists.size() + 4] = b(space.reserving(consumerId));
            this.name = b(String.join(",", queues));
            this.order = new int[queues.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i + 1;
            }
        }
    }

    /**
     * On a cluster: a queue per slot, so a script per queue. The queues are asked in kombu's round-robin order, each
     * for an even share of what is left, and a queue that delivered moves to the end of the order (as kombu rotates
     * after each message); a queue that gave less than its share is empty for the rest of the call, and what it
     * left is asked of the others. Priorities are honoured within each queue; across queues a batch is shared in
     * turn rather than priority-major (no script can see two slots).
     */
    private final class ShardedCycle {
        final List<ReserveCycle> cycles = new ArrayList<>();
        final List<String> lists = new ArrayList<>();
        /** Indexes into {@link #cycles}, next served first. */
        final List<Integer> order = new ArrayList<>();

        ShardedCycle(List<String> queues) {
            for (String q : queues) {
                ReserveCycle c = new ReserveCycle(List.of(q), space(q));
                order.add(cycles.size());
                cycles.add(c);
                lists.addAll(c.lists);
            }
        }
    }

    private List<Delivery> reserveSharded(Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        // Acks go to each message's own slot first; a failure throws, and the worker retries them with the reserve.
        ack(acks);
        startConsuming();
        ShardedCycle sharded = shardedCycles.computeIfAbsent(List.copyOf(queues), ShardedCycle::new);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            List<Delivery> got = reserveShardedNow(sharded, max);
            if (!got.isEmpty()) {
                return got;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) {
                return List.of();
            }
            waitForAny(sharded.lists, left);
        }
    }

    private List<Delivery> reserveShardedNow(ShardedCycle sharded, int max) {
        synchronized (sharded) {
            List<Delivery> out = new ArrayList<>();
            Set<Integer> dry = new java.util.HashSet<>();
            RuntimeException failure = null;
            while (out.size() < max) {
                List<Integer> asking = new ArrayList<>(sharded.order);
                asking.removeAll(dry);
                if (asking.isEmpty()) {
                    break;
                }
                for (int k = 0; k < asking.size() && out.size() < max; k++) {
                    int index = asking.get(k);
                    int share = -Math.floorDiv(-(max - out.size()), asking.size() - k);
                    ReserveCycle cycle = sharded.cycles.get(index);
                    List<Delivery> got;
                    try {
                        consumeIn(cycle.space);
                        got = reserveNow(cycle, share, NO_TAGS, RedisResultBackend.ScriptWrites.NONE);
                    } catch (RuntimeException e) {
                        // One slot's master away (a failover under way) must not stop the queues on the others.
                        failure = e;
                        dry.add(index);
                        continue;
                    }
                    if (got.size() < share) {
                        dry.add(index);
                    }
                    if (!got.isEmpty()) {
                        out.addAll(got);
                        sharded.order.remove(Integer.valueOf(index));
                        sharded.order.add(index);
                    }
                }
            }
            if (out.isEmpty() && failure != null) {
                throw failure instanceof BrokerUnavailableException b ? b
                        : redis.unavailable("Reserving from " + sharded.lists, failure);
            }
            return out;
        }
    }

    private List<Delivery> reserveNow(ReserveCycle cycle, int max, byte[][] acks,
                                      RedisResultBackend.ScriptWrites writes) {
        ReserveCall call = prepare(cycle, max, acks, writes);
        List<Object> out;
        try {
            out = run(call);
        } catch (RuntimeException e) {
            return finish(call, null, e);
        }
        return finish(call, out, null);
    }

    /** Sends {@code call} and waits for its answer; loads the script first if Redis does not have it. */
    private List<Object> run(ReserveCall call) {
        synchronized (call.cycle) {
            stamp(call);
            return RESERVE.run(call.connection.sync(), ScriptOutputType.MULTI, call.keys, call.args);
        }
    }

    /** Sends {@code call} with the loaded script and returns before Redis answers. */
    private RedisFuture<List<Object>> send(ReserveCall call, String sha) {
        synchronized (call.cycle) {
            stamp(call);
            return call.connection.async().evalsha(sha, ScriptOutputType.MULTI, call.keys, call.args);
        }
    }

    /**
     * Names in {@code call}, as it is sent, the calls whose answers were lost and those still under way (whose notes
     * it keeps), and counts it under way. Done under the cycle's lock up to the send, so that calls reach Redis in
     * the order they learn of each other: a call sent earlier is in every later call's list and runs before it.
     */
    private static void stamp(ReserveCall call) {
        ReserveCycle cycle = call.cycle;
        call.lostSent = List.copyOf(cycle.lost);
        call.args[3] = b(String.join(" ", call.lostSent));
        List<String> others = new ArrayList<>(cycle.underWay);
        others.remove(call.id);
        call.args[4] = b(String.join(" ", others));
        cycle.underWay.add(call.id);
    }

    /**
     * One reserve.lua call on its way: its keys and arguments, and the lost calls it named when sent ({@link #stamp}),
     * which are no longer lost once it is answered ({@link #finish}).
     */
    private static final class ReserveCall {
        final ReserveCycle cycle;
        final String id;
        final byte[][] keys;
        final byte[][] args;
        final int acks;
        final int results;
        final StatefulRedisConnection<byte[], byte[]> connection;
        List<String> lostSent = List.of();

        ReserveCall(ReserveCycle cycle, String id, byte[][] keys, byte[][] args, int acks, int results,
                    StatefulRedisConnection<byte[], byte[]> connection) {
            this.cycle = cycle;
            this.id = id;
            this.keys = keys;
            this.args = args;
            this.acks = acks;
            this.results = results;
            this.connection = connection;
        }
    }

    private ReserveCall prepare(ReserveCycle cycle, int max, byte[][] acks, RedisResultBackend.ScriptWrites writes) {
        retryUndeliverable();
        StatefulRedisConnection<byte[], byte[]> connection = redis.bytesConnectionFor(cycle.lists.get(0));
        int q = cycle.queues.size();
        // Raw bytes, not Lettuce's String codec: that would replace bytes that are not UTF-8 without a word.
        int results = writes.keys().length;
        byte[][] args = new byte[8 + acks.length + (results == 0 ? 0 : 1 + writes.args().length) + q][];
        String call = consumerId + "-" + deadSeq.incrementAndGet();
        args[0] = b(Integer.toString(max));
        args[1] = b(Double.toString(now()));
        args[2] = b(call);
        // args[3] and args[4], the lost calls and those under way, are named as it is sent (stamp).
        args[5] = cycle.name;
        args[6] = b(Integer.toString(acks.length));
        System.arraycopy(acks, 0, args, 7, acks.length);
        int a = 7 + acks.length;
        args[a++] = b(Integer.toString(results));
        if (results > 0) {
            args[a++] = b(Integer.toString(url.db()));
            System.arraycopy(writes.args(), 0, args, a, writes.args().length);
            a += writes.args().length;
        }
        synchronized (cycle) {
            for (int i = 0; i < q; i++) {
                args[a + i] = b(Integer.toString(cycle.order[i]));
            }
        }
        byte[][] keys = cycle.keys;
        if (results > 0) {
            keys = Arrays.copyOf(cycle.keys, cycle.keys.length + results);
            System.arraycopy(writes.keys(), 0, keys, cycle.keys.length, results);
        }
        return new ReserveCall(cycle, call, keys, args, acks.length, results, connection);
    }

    /** Takes a reserve.lua call's answer ({@code out}) or its failure; the call is no longer under way. */
    private List<Delivery> finish(ReserveCall call, @Nullable List<Object> out, @Nullable RuntimeException failure) {
        ReserveCycle cycle = call.cycle;
        int q = cycle.queues.size();
        try {
            if (failure == null) {
                // Nothing reserved is handed out, and no ack or result counts, until a replica holds it (with
                // Sentinel): a shortfall fails this call like a lost answer, so the next one puts back what it
                // took and carries its acks and results again (ReplicaAcks says why).
                replicaAcks.confirm(call.connection.sync(), "A reserve");
            }
        } catch (RuntimeException e) {
            failure = e;
        }
        synchronized (cycle) {
            cycle.underWay.remove(call.id);
            if (failure != null || out == null) {
                RuntimeException e = failure != null ? failure : new IllegalStateException("no answer");
                // Redis may have run it and the answer been lost: the next call puts back what this one took (its
                // note stays until then). A call refused before it was sent cannot have run.
                if (!String.valueOf(e.getMessage()).contains("Commands are rejected") && cycle.lost.size() < 1000) {
                    cycle.lost.add(call.id);
                }
                throw redis.unavailable((call.results > 0 ? "Storing " + call.results + " result(s), acking "
                        + call.acks + " message(s) and reserving" : call.acks > 0 ? "Acking " + call.acks
                        + " message(s) and reserving" : "Reserving") + " from " + cycle.queues, e);
            }
            cycle.lost.removeAll(call.lostSent);
            for (int i = 0; i < q; i++) {
                cycle.order[i] = ((Number) out.get(i)).intValue();
            }
        }
        return deliveries(cycle, out);
    }

    /**
     * Sends the reserve.lua call and returns before Redis answers; the answer is taken on {@link Reservation#await}.
     * Where that cannot be done (Redis Cluster, results stored elsewhere, the script not loaded yet) the call is made
     * when awaited.
     */
    @Override
    public Reservation startStoreAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                               Collection<Delivery> acks, List<String> queues, int max) {
        String sha = RESERVE.loadedSha();
        if (sha == null || redis.isCluster() || queues.isEmpty() || (!results.isEmpty() && !storesResultsOf(backend))) {
            return Broker.super.startStoreAckAndReserve(backend, results, acks, queues, max);
        }
        ReserveCall call;
        RedisFuture<List<Object>> answer;
        try {
            call = prepare(consumingCycle(queues), max, ackTokens(acks), results.isEmpty() ? RedisResultBackend.ScriptWrites.NONE
                    : ((RedisResultBackend) backend).scriptWrites(results));
        } catch (RuntimeException e) {
            return () -> {
                throw e;
            };
        }
        try {
            answer = send(call, sha);
        } catch (RuntimeException e) {
            try {
                finish(call, null, e);
            } catch (RuntimeException failed) {
                return () -> {
                    throw failed;
                };
            }
            throw e;
        }
        return () -> {
            List<Object> out;
            try {
                out = LettuceFutures.awaitOrCancel(answer, call.connection.getTimeout().toNanos(),
                        TimeUnit.NANOSECONDS);
            } catch (RedisNoScriptException e) {
                // Redis restarted and forgot the script, so it did not run: run it now, loading it again, naming the
                // calls under way now (sent after this one, they ran before it).
                try {
                    out = run(call);
                } catch (RuntimeException again) {
                    return finish(call, null, again);
                }
            } catch (RuntimeException e) {
                return finish(call, null, e);
            }
            return finish(call, out, null);
        };
    }

    /**
     * Two: a worker with a backlog sends its next reserve while the last is still on its way, and each call's wait for
     * Redis is hidden behind the other's. Each call keeps its own note of what it took, so a lost answer strands
     * nothing (reserve.lua). On a cluster calls run when awaited.
     */
    @Override
    public int reservesUnderWay() {
        return redis.isCluster() ? 1 : 2;
    }

    private List<Delivery> deliveries(ReserveCycle cycle, List<Object> out) {
        int q = cycle.queues.size();
        List<Delivery> deliveries = new ArrayList<>((out.size() - q) / 3);
        List<byte[][]> refused = null;
        for (int i = q; i + 2 < out.size(); i += 3) {
            int index = ((Number) out.get(i)).intValue();
            byte[] tag = (byte[]) out.get(i + 1);
            byte[] raw = (byte[]) out.get(i + 2);
            if (index < 0) {
                log.error("Rejecting a malformed message from list '{}': not a JSON kombu envelope; moved to the "
                        + "dead-letter queue '{}' as {}", printable(cycle.lists.get(-index - 1)), deadLetterKey,
                        new String(tag, StandardCharsets.UTF_8));
                continue;
            }
            int listIndex = index - 1;
            String queue = cycle.queues.get(listIndex / STEPS.length);
            byte[] record = null;
            RedisDelivery d = null;
            String payload = raw.length > maxMessageBytes ? null : StrictUtf8.decode(raw);
            String token = payload == null ? null : StrictUtf8.decode(tag);
            if (raw.length > maxMessageBytes) {
                // Kept as bytes (base64), unparsed and undecoded: what is too large to read is not read.
                log.error("Rejecting a message of {} bytes from queue '{}': over the limit of {} bytes; moved to the "
                        + "dead-letter queue '{}'", raw.length, queue, maxMessageBytes, deadLetterKey);
                record = DeadLetterRecords.binary(codec, UUID.randomUUID().toString(), queue, now(), "refused: message "
                        + "of " + raw.length + " bytes exceeds the limit of " + maxMessageBytes
                        + " bytes (celeriac_max_message_bytes); it was not parsed", raw);
            } else if (token == null) {
                record = invalidUtf8Record(queue, tag, raw);
            } else {
                try {
                    d = new RedisDelivery(queue, kombu.decode(payload), token, STEPS[listIndex % STEPS.length],
                            payload);
                } catch (MessageRejectedException e) {
                    record = refusedRecord(queue, payload, e.reason());
                }
            }
            if (d != null) {
                deliveries.add(d);
            } else {
                if (refused == null) {
                    refused = new ArrayList<>();
                }
                refused.add(new byte[][] {tag, record});
            }
        }
        if (refused != null) {
            deadLetterUndeliverable(cycle.space, refused);
        }
        return deliveries;
    }

    /** The dead-letter record of a reserved message that is UTF-8 but not a message we can hand out. */
    private byte[] refusedRecord(String queue, String payload, String reason) {
        log.error("Rejecting a message from queue '{}': {}. It was moved to the dead-letter queue '{}'.", queue, reason,
                deadLetterKey);
        return b(deadLetterRecord(queue, reason, payload));
    }

    private String deadLetterRecord(String queue, String reason, String payload) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("id", UUID.randomUUID().toString());
        record.put("queue", queue);
        record.put("time", now());
        record.put("reason", reason);
        record.put("payload", payload);
        return codec.writeJson(record);
    }

    /**
     * The dead-letter record of a reserved message that is not UTF-8: decoding it would change its text (and the
     * task's arguments), so it is never delivered. The record keeps the exact bytes, base64-encoded.
     */
    private byte[] invalidUtf8Record(String queue, byte[] tag, byte[] raw) {
        int at = StrictUtf8.invalidOffset(raw);
        String reason = at >= 0
                ? "invalid UTF-8 at byte offset " + at + " of " + raw.length + ": not delivered, since decoding would "
                        + "alter the message; its bytes are kept base64-encoded"
                : "invalid UTF-8 in the delivery_tag at byte offset " + StrictUtf8.invalidOffset(tag)
                        + ": it could never be acked; the message's bytes are kept base64-encoded";
        log.error("Rejecting a message from queue '{}': {}. It was moved to the dead-letter queue '{}'.", queue, reason,
                deadLetterKey);
        return DeadLetterRecords.binary(codec, UUID.randomUUID().toString(), queue, now(), reason, raw);
    }

    /** A reserved message that cannot be delivered, still to be dead-lettered in its key space. */
    private record Undeliverable(RedisKeys space, byte[][] tagAndRecord) {
    }

    /** Dead-letters reserved messages that cannot be delivered, with their bookkeeping, in one settle.lua call. */
    private void deadLetterUndeliverable(RedisKeys space, List<byte[][]> tagAndRecord) {
        List<byte[]> args = new ArrayList<>(1 + tagAndRecord.size() * 3);
        args.add(b("dead"));
        for (byte[][] t : tagAndRecord) {
            args.add(t[0]);
            args.add(new byte[0]);
            args.add(t[1]);
        }
        try {
            String dead = space.deadLetter(deadLetterKey);
            RedisCommands<byte[], byte[]> bytes = redis.bytesConnectionFor(dead).sync();
            SETTLE.run(bytes, ScriptOutputType.INTEGER,
                    new byte[][] {b(space.unacked()), b(space.unackedIndex()), b(space.heldBy(consumerId)), b(dead)},
                    args.toArray(byte[][]::new));
            replicaAcks.confirm(bytes, "Dead-lettering");
        } catch (RuntimeException e) {
            // Still recorded as ours in unacked: retried before the next reserve, recovered if we die first.
            log.warn("Could not dead-letter {} undeliverable message(s) yet ({}); retrying", tagAndRecord.size(),
                    e.toString());
            for (byte[][] t : tagAndRecord) {
                undeliverable.add(new Undeliverable(space, t));
            }
        }
    }

    private void retryUndeliverable() {
        if (undeliverable.isEmpty()) {
            return;
        }
        Map<RedisKeys, List<byte[][]>> again = new LinkedHashMap<>();
        for (Undeliverable u; (u = undeliverable.poll()) != null; ) {
            again.computeIfAbsent(u.space(), k -> new ArrayList<>()).add(u.tagAndRecord());
        }
        again.forEach(this::deadLetterUndeliverable);
    }

    static String printable(String key) {
        return key.replace(SEP, "\\x06\\x16");
    }

    /**
     * Blocks until one of the lists may hold a message. {@code BLMOVE l l RIGHT RIGHT} with the same source and
     * destination is documented as a no-op that blocks until the list is non-empty: it waits without taking
     * anything, so the atomic reserve script stays the only way messages leave a list. One dedicated connection
     * per list; a wait left pending is reused by the next call.
     */
    private void waitForAny(List<String> lists, long nanos) throws InterruptedException {
        List<CompletableFuture<String>> futures = new ArrayList<>(lists.size());
        for (String list : lists) {
            RedisFuture<String> f = pendingWaits.get(list);
            if (f == null || f.isDone()) {
                StatefulConnection<String, String> c = waiters.computeIfAbsent(list, k -> redis.openDedicated());
                f = RedisConnector.async(c).blmove(list, list, LMoveArgs.Builder.rightRight(), 2.0);
                pendingWaits.put(list, f);
            }
            futures.add(f.toCompletableFuture());
        }
        try {
            CompletableFuture.anyOf(futures.toArray(CompletableFuture[]::new)).get(nanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return;
        } catch (ExecutionException e) {
            // A failed wait (Redis restarting, say) just ends this wait; the next reserve reports real trouble.
            pendingWaits.values().removeIf(RedisFuture::isDone);
            Thread.sleep(Math.min(TimeUnit.NANOSECONDS.toMillis(nanos), 100));
            return;
        }
        pendingWaits.values().removeIf(RedisFuture::isDone);
    }

    @Override
    public void ack(Collection<Delivery> deliveries) {
        if (deliveries.isEmpty()) {
            return;
        }
        // By key space: one on a plain server; on a cluster each queue's slot gets its own ack.lua call.
        Map<RedisKeys, List<String>> bySpace = new LinkedHashMap<>();
        for (Delivery d : deliveries) {
            bySpace.computeIfAbsent(space(d.queue()), k -> new ArrayList<>()).add(RedisDelivery.of(d).ackToken());
        }
        for (Map.Entry<RedisKeys, List<String>> e : bySpace.entrySet()) {
            RedisKeys space = e.getKey();
            String[] tags = e.getValue().toArray(String[]::new);
            try {
                // One round trip for the batch; only tags this consumer still holds are removed (ack.lua says why).
                RedisCommands<String, String> sync = redis.connectionFor(space.unacked()).sync();
                ACK.run(sync, ScriptOutputType.INTEGER,
                        new String[] {space.unacked(), space.unackedIndex(), space.heldBy(consumerId)}, tags);
                replicaAcks.confirm(sync, "An ack");
            } catch (RuntimeException ex) {
                throw redis.unavailable("Acking " + tags.length + " message(s)", ex);
            }
        }
    }

    @Override
    public void requeue(Collection<Delivery> deliveries) {
        Map<String, List<RedisDelivery>> byList = new LinkedHashMap<>();
        for (Delivery d : deliveries) {
            byList.computeIfAbsent(space(d.queue()).list(d.queue(), d.priority()), k -> new ArrayList<>())
                    .add(RedisDelivery.of(d));
        }
        for (Map.Entry<String, List<RedisDelivery>> e : byList.entrySet()) {
            List<RedisDelivery> list = new ArrayList<>(e.getValue());
            // RPUSH puts each at the served end; reversed, the first reserved is served first again.
            Collections.reverse(list);
            List<String> args = new ArrayList<>();
            args.add("requeue");
            for (RedisDelivery d : list) {
                args.add(d.ackToken());
                args.add(d.raw());
                args.add("");
            }
            settle(space(list.get(0).queue()), e.getKey(), args);
        }
    }

    @Override
    public void defer(Delivery delivery, Instant eta) {
        RedisDelivery d = RedisDelivery.of(delivery);
        RedisKeys space = space(d.queue());
        String list = space.list(d.queue(), d.priority());
        settle(space, space.scheduled(), List.of("defer", d.ackToken(), EtaMover.member(list, d.raw()),
                Double.toString(epochSeconds(eta))));
    }

    @Override
    public void deadLetter(Delivery delivery, String reason) {
        RedisDelivery d = RedisDelivery.of(delivery);
        RedisKeys space = space(d.queue());
        settle(space, space.deadLetter(deadLetterKey), List.of("dead", d.ackToken(), "", deadLetterRecord(d.queue(), reason, d.raw())));
    }

    private void settle(RedisKeys space, String target, List<String> args) {
        try {
            RedisCommands<String, String> sync = redis.connectionFor(target).sync();
            SETTLE.run(sync, ScriptOutputType.INTEGER,
                    new String[] {space.unacked(), space.unackedIndex(), space.heldBy(consumerId), target},
                    args.toArray(String[]::new));
            replicaAcks.confirm(sync, "Settling messages");
        } catch (RuntimeException e) {
            throw redis.unavailable("Settling messages (" + args.get(0) + ")", e);
        }
    }

    // ------------------------------------------------------------------ queues

    @Override
    public long queueLength(String queue) {
        try {
            RedisKeys space = space(queue);
            RedisAsyncCommands<String, String> async = redis.connectionFor(space.list(queue, 0)).async();
            List<RedisFuture<Long>> f = new ArrayList<>();
            for (int s : STEPS) {
                f.add(async.llen(space.list(queue, s)));
            }
            long n = 0;
            for (RedisFuture<Long> x : f) {
                n += x.get(10, TimeUnit.SECONDS);
            }
            return n;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerUnavailableException("interrupted", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            throw redis.unavailable("Reading the length of " + queue, e);
        }
    }

    @Override
    public long purge(String queue) {
        long n = queueLength(queue);
        RedisKeys space = space(queue);
        String[] keys = new String[STEPS.length];
        for (int i = 0; i < STEPS.length; i++) {
            keys[i] = space.list(queue, STEPS[i]);
        }
        redis.connectionFor(keys[0]).sync().del(keys);
        return n;
    }

    /** Messages waiting for their ETA in {@code celeriac.scheduled} (on a cluster: every queue's). */
    public long scheduledCount() {
        long n = 0;
        for (RedisKeys space : knownSpaces()) {
            n += redis.connectionFor(space.scheduled()).sync().zcard(space.scheduled());
        }
        return n;
    }

    /** Delivered, not yet acked messages (kombu's {@code unacked} hash, all consumers; on a cluster every queue's). */
    public long unackedCount() {
        long n = 0;
        for (RedisKeys space : knownSpaces()) {
            n += redis.connectionFor(space.unacked()).sync().hlen(space.unacked());
        }
        return n;
    }

    /**
     * Where a queue lives: on a cluster, {@code slot <n> on <host:port>} (the master serving it now); on a plain
     * server, the server. For operators ({@code celeriac queues}, the dashboard).
     */
    public String queueLocation(String queue) {
        String key = space(queue).list(queue, 0);
        if (!redis.isCluster()) {
            return redis.nodeOf(key);
        }
        return "slot " + io.lettuce.core.cluster.SlotHash.getSlot(key) + " on " + redis.nodeOf(key);
    }

    /** Whether this broker shards its queues over a Redis Cluster. */
    public boolean isCluster() {
        return redis.isCluster();
    }

    // ------------------------------------------------------------------ liveness, ETA mover

    private void startConsuming() {
        if (consuming) {
            return;
        }
        synchronized (this) {
            if (consuming || closed) {
                return;
            }
            // Registered before the first reserve can record anything as ours, so that our messages are always
            // recoverable; if Redis is down this throws and the worker's reserve retries. (On a cluster each queue's
            // slot gets its first beat before its first reserve: consumeIn.)
            liveness.beat();
            consuming = true;
            etaThread = daemon("celeriac-eta", () -> etaMover.loop(() -> !closed));
            heartbeatThread = daemon("celeriac-heartbeat", () -> liveness.heartbeatLoop(() -> !closed));
            recoverThread = daemon("celeriac-recover", () -> liveness.recoverLoop(() -> !closed));
        }
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Returns unacked messages of dead consumers to their queues, and any unacked message older than the
     * visibility timeout that no registered Celeriac consumer holds. A consumer is dead when its heartbeat key
     * expired on Redis's clock, except while reaping is held after a gap in everyone's heartbeats (Redis was down,
     * paused or restarted): then nobody is reaped until {@code celeriac.reap.after}. Returns {dead consumers,
     * restored messages}.
     */
    public long[] recoverNow() {
        return liveness.recoverNow();
    }

    // ------------------------------------------------------------------ closing

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (Thread t : new Thread[] {etaThread, heartbeatThread, recoverThread}) {
            if (t != null) {
                t.interrupt();
                try {
                    t.join(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (consuming) {
            for (RedisKeys space : beating) {
                try {
                    RedisCommands<String, String> sync = redis.connectionFor(space.consumers()).sync();
                    sync.del(space.heartbeat(consumerId));
                    // With messages still unacked, stay registered without a heartbeat: the next recovery run by any
                    // consumer returns them at once. With none, leave cleanly.
                    if (sync.scard(space.heldBy(consumerId)) == 0) {
                        sync.srem(space.consumers(), consumerId);
                    }
                    sync.del(space.reserving(consumerId));
                } catch (RuntimeException e) {
                    log.debug("could not unregister consumer {} in {}: {}", consumerId, space, e.toString());
                }
            }
        }
        waiters.values().forEach(StatefulConnection::close);
        replicaAcks.close();
        pubsub.close();
        redis.close();
    }
}
