package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.PriorityLists;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.Envelope;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.KeyValue;
import io.lettuce.core.LMoveArgs;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
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
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The Redis broker, laid out exactly as kombu lays it out so Python Celery producers and workers share our queues:
 * a queue is a list (priority sub-lists {@code <queue>\x06\x16<3|6|9>}), delivered messages sit in kombu's
 * {@code unacked} hash and {@code unacked_index} zset, bindings in {@code _kombu.binding.<queue>}, remote control on
 * {@code /<db>.celery.pidbox} and events on {@code /<db>.celeryev/<key>}.
 *
 * <p>What we add: reserving a batch and recording it as unacked is one Lua script (kombu's pop-then-record has a
 * window that loses messages), serving the queues in turn as kombu does; every consumer keeps a heartbeat so its
 * messages are recovered as soon as it dies rather than after the one-hour visibility timeout, judged on Redis's
 * clock and held after Redis itself was away; ETA messages are published to their queue as Celery publishes them, and
 * a Celeriac worker hands one it receives early back to {@code celeriac.scheduled} ({@link #defer}) rather than hold
 * it in memory; poison messages, and messages that are not UTF-8, go to a dead-letter list. docs/redis.md has the
 * full key layout.
 */
public final class RedisBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(RedisBroker.class);
    static final String SEP = PriorityLists.SEP;
    static final int[] STEPS = PriorityLists.STEPS;
    static final String UNACKED = "unacked";
    static final String UNACKED_INDEX = "unacked_index";
    static final String SCHEDULED = "celeriac.scheduled";
    static final String CONSUMERS = UnackedRestorer.CONSUMERS;
    /** A consumer whose heartbeat key is older than this is presumed dead (on Redis's clock). */
    static final Duration HEARTBEAT_TTL = Duration.ofSeconds(10);
    static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(1);
    /**
     * No heartbeat from anyone for this long means Redis was away (down, paused, restarted) and reaping is held.
     * Why three beats: the TTL must outlast this gap plus a beat before it, a beat after and a reconnect (10 s >
     * 3 + 1 + 1 + 1 s, with room for a loaded machine), or a consumer's key could expire in an outage too short to
     * notice.
     */
    static final Duration HEARTBEAT_GAP = HEARTBEAT_EVERY.multipliedBy(3);
    /** After a gap, nobody is reaped for the TTL plus this: time for every live consumer to beat again. */
    static final Duration REAP_GRACE = Duration.ofSeconds(5);
    private static final Duration RECOVER_EVERY = Duration.ofSeconds(5);
    private static final int MOVE_BATCH = 1000;

    private static final LuaScript RESERVE = new LuaScript("reserve");
    private static final LuaScript ACK = new LuaScript("ack");
    private static final LuaScript SETTLE = new LuaScript("settle");
    private static final LuaScript MOVE_DUE = new LuaScript("move_due");
    private static final LuaScript HEARTBEAT = new LuaScript("heartbeat", "liveness");
    private static final LuaScript DEAD_LETTER_OP = new LuaScript("dead_letter_op");
    private static final LuaScript PUBLISH_ONCE = new LuaScript("publish_once");

    private final RedisUrl url;
    private final CeleriacConfig config;
    private final MessageCodec codec;
    private final Clock clock;
    private final RedisConnector redis;
    private final String consumerId = UUID.randomUUID().toString();
    private final String mine = UnackedRestorer.UNACKED_PREFIX + consumerId;
    private final String deadLetterKey;
    private final String pidboxChannel;
    private final String eventPrefix;
    private final Map<String, StatefulRedisConnection<String, String>> waiters = new ConcurrentHashMap<>();
    private final Map<String, RedisFuture<String>> pendingWaits = new ConcurrentHashMap<>();
    private final Map<List<String>, ReserveCycle> cycles = new ConcurrentHashMap<>();
    private final Queue<byte[][]> undeliverable = new ConcurrentLinkedQueue<>();
    private final UnackedRestorer restorer;
    private final List<Consumer<ControlMessage>> controlListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Map<String, Object>>> eventListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong clockTick = new AtomicLong();
    private final AtomicLong deadSeq = new AtomicLong();
    private volatile StatefulRedisPubSubConnection<String, String> pubsub;
    private volatile Thread etaThread;
    private volatile Thread heartbeatThread;
    private volatile Thread recoverThread;
    private volatile boolean consuming;
    private volatile boolean registered;
    private volatile long heldUntilLogged;
    private volatile boolean closed;

    public RedisBroker(String url, CeleriacConfig config) {
        this(RedisUrl.parse(url), config, new MessageCodec(), Clock.systemUTC());
    }

    public RedisBroker(RedisUrl url, CeleriacConfig config, MessageCodec codec, Clock clock) {
        this.url = url;
        this.config = config;
        this.codec = codec;
        this.clock = clock;
        this.deadLetterKey = config.deadLetterQueue();
        this.pidboxChannel = "/" + url.db() + ".celery.pidbox";
        this.eventPrefix = "/" + url.db() + ".celeryev/";
        this.redis = new RedisConnector(url, "Redis broker");
        this.restorer = new UnackedRestorer(redis, codec, this::now, config.visibilityTimeout(), deadLetterKey,
                HEARTBEAT_GAP, HEARTBEAT_TTL.plus(REAP_GRACE));
    }

    private StatefulRedisConnection<String, String> connection() {
        return redis.connection();
    }

    RedisCommands<String, String> sync() {
        return connection().sync();
    }

    private RedisCommands<byte[], byte[]> bytes() {
        return redis.bytesConnection().sync();
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

    private BrokerUnavailableException unavailable(String what, Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return new BrokerUnavailableException(what + " failed: Redis at " + url + " did not answer ("
                + cause.getMessage() + ")", cause);
    }

    // ------------------------------------------------------------------ publishing

    @Override
    public void publish(List<OutboundMessage> messages) {
        if (messages.isEmpty()) {
            return;
        }
        // A message with an ETA goes to its queue like any other, as Celery publishes it (the eta header carries the
        // time), so that Python workers run it too: they hold it in memory until due, as Celery 5 does. A Celeriac
        // worker that receives it early hands it back with defer() instead of holding it.
        Map<String, List<String>> byList = new LinkedHashMap<>();
        for (OutboundMessage m : messages) {
            byList.computeIfAbsent(listKey(m.queue(), step(m.priority())), k -> new ArrayList<>()).add(m.payload());
        }
        RedisAsyncCommands<String, String> async = connection().async();
        List<RedisFuture<?>> futures = new ArrayList<>();
        try {
            // All commands go out back to back on one connection: one round trip for the whole batch.
            for (Map.Entry<String, List<String>> e : byList.entrySet()) {
                futures.add(async.lpush(e.getKey(), e.getValue().toArray(String[]::new)));
            }
            for (RedisFuture<?> f : futures) {
                f.get(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerUnavailableException("interrupted while publishing " + messages.size()
                    + " message(s); some may not be queued", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            throw unavailable("Publishing " + messages.size() + " message(s) (some may not be queued; send again)",
                    e);
        }
    }

    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        try {
            Long n = PUBLISH_ONCE.run(connection().sync(), ScriptOutputType.INTEGER,
                    new String[] {onceKey, listKey(message.queue(), step(message.priority()))},
                    Long.toString(keep.toMillis()), message.payload());
            return n != null && n == 1;
        } catch (RuntimeException e) {
            throw unavailable("Publishing " + message.taskId() + " once", e);
        }
    }

    @Override
    public void forgetOnce(String onceKey) {
        try {
            connection().sync().del(onceKey);
        } catch (RuntimeException e) {
            throw unavailable("Releasing " + onceKey, e);
        }
    }

    /**
     * Member of {@code celeriac.scheduled}: {@code <length of list key in UTF-8 bytes>:<list key><payload>},
     * unambiguous.
     */
    static String scheduledMember(String list, String payload) {
        return b(list).length + ":" + list + payload;
    }

    @Override
    public void declare(Collection<String> queues) {
        try {
            for (String q : queues) {
                // kombu's binding for a queue on the default direct exchange: <routing key>\x06\x16<pattern>\x06\x16<queue>
                connection().sync().sadd("_kombu.binding." + q, q + SEP + SEP + q);
            }
        } catch (RuntimeException e) {
            throw unavailable("Declaring queues " + queues, e);
        }
    }

    // ------------------------------------------------------------------ consuming

    @Override
    public List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException {
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("reserve needs at least one queue");
        }
        startConsuming();
        ReserveCycle cycle = cycles.computeIfAbsent(List.copyOf(queues), ReserveCycle::new);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            List<Delivery> got = reserveNow(cycle, max);
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

    /**
     * The keys reserve.lua takes for one list of queues, and kombu's round-robin order of those queues (1-based),
     * carried from one reserve call to the next as kombu's {@code _queue_cycle} is.
     */
    private final class ReserveCycle {
        final List<String> queues;
        final List<String> lists;
        final byte[][] keys;
        final int[] order;

        ReserveCycle(List<String> queues) {
            this.queues = queues;
            this.lists = new ArrayList<>(queues.size() * STEPS.length);
            for (String q : queues) {
                for (int s : STEPS) {
                    lists.add(listKey(q, s));
                }
            }
            this.keys = new byte[lists.size() + 4][];
            for (int i = 0; i < lists.size(); i++) {
                keys[i] = b(lists.get(i));
            }
            keys[lists.size()] = b(UNACKED);
            keys[lists.size() + 1] = b(UNACKED_INDEX);
            keys[lists.size() + 2] = b(mine);
            keys[lists.size() + 3] = b(deadLetterKey);
            this.order = new int[queues.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i + 1;
            }
        }
    }

    private List<Delivery> reserveNow(ReserveCycle cycle, int max) {
        retryUndeliverable();
        int q = cycle.queues.size();
        List<Object> out;
        // Raw bytes, not Lettuce's String codec: that would replace bytes that are not UTF-8 without a word.
        synchronized (cycle) {
            byte[][] args = new byte[3 + q][];
            args[0] = b(Integer.toString(max));
            args[1] = b(Double.toString(now()));
            args[2] = b(consumerId + "-" + deadSeq.incrementAndGet());
            for (int i = 0; i < q; i++) {
                args[3 + i] = b(Integer.toString(cycle.order[i]));
            }
            try {
                out = RESERVE.run(bytes(), ScriptOutputType.MULTI, cycle.keys, args);
            } catch (RuntimeException e) {
                throw unavailable("Reserving from " + cycle.queues, e);
            }
            for (int i = 0; i < q; i++) {
                cycle.order[i] = ((Number) out.get(i)).intValue();
            }
        }
        List<Delivery> deliveries = new ArrayList<>((out.size() - q) / 3);
        List<byte[][]> invalid = null;
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
            String payload = StrictUtf8.decode(raw);
            String token = payload == null ? null : StrictUtf8.decode(tag);
            if (token == null) {
                if (invalid == null) {
                    invalid = new ArrayList<>();
                }
                invalid.add(new byte[][] {tag, invalidUtf8Record(queue, tag, raw)});
                continue;
            }
            deliveries.add(new Delivery(queue, payload, token, STEPS[listIndex % STEPS.length]));
        }
        if (invalid != null) {
            deadLetterUndeliverable(invalid);
        }
        return deliveries;
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

    /** Dead-letters reserved messages that cannot be delivered, with their bookkeeping, in one settle.lua call. */
    private void deadLetterUndeliverable(List<byte[][]> tagAndRecord) {
        List<byte[]> args = new ArrayList<>(1 + tagAndRecord.size() * 3);
        args.add(b("dead"));
        for (byte[][] t : tagAndRecord) {
            args.add(t[0]);
            args.add(new byte[0]);
            args.add(t[1]);
        }
        try {
            SETTLE.run(bytes(), ScriptOutputType.INTEGER,
                    new byte[][] {b(UNACKED), b(UNACKED_INDEX), b(mine), b(deadLetterKey)},
                    args.toArray(byte[][]::new));
        } catch (RuntimeException e) {
            // Still recorded as ours in unacked: retried before the next reserve, recovered if we die first.
            log.warn("Could not dead-letter {} undeliverable message(s) yet ({}); retrying", tagAndRecord.size(),
                    e.toString());
            undeliverable.addAll(tagAndRecord);
        }
    }

    private void retryUndeliverable() {
        if (undeliverable.isEmpty()) {
            return;
        }
        List<byte[][]> again = new ArrayList<>();
        for (byte[][] t; (t = undeliverable.poll()) != null; ) {
            again.add(t);
        }
        deadLetterUndeliverable(again);
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
                StatefulRedisConnection<String, String> c = waiters.computeIfAbsent(list, k -> redis.open());
                f = c.async().blmove(list, list, LMoveArgs.Builder.rightRight(), 2.0);
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
        String[] tags = deliveries.stream().map(Delivery::ackToken).toArray(String[]::new);
        try {
            // One round trip for the batch; only tags this consumer still holds are removed (ack.lua says why).
            ACK.run(connection().sync(), ScriptOutputType.INTEGER, new String[] {UNACKED, UNACKED_INDEX, mine}, tags);
        } catch (RuntimeException e) {
            throw unavailable("Acking " + tags.length + " message(s)", e);
        }
    }

    @Override
    public void requeue(Collection<Delivery> deliveries) {
        Map<String, List<Delivery>> byList = new LinkedHashMap<>();
        for (Delivery d : deliveries) {
            byList.computeIfAbsent(listKey(d.queue(), d.priority()), k -> new ArrayList<>()).add(d);
        }
        for (Map.Entry<String, List<Delivery>> e : byList.entrySet()) {
            List<Delivery> list = new ArrayList<>(e.getValue());
            // RPUSH puts each at the served end; reversed, the first reserved is served first again.
            Collections.reverse(list);
            List<String> args = new ArrayList<>();
            args.add("requeue");
            for (Delivery d : list) {
                args.add(d.ackToken());
                args.add(d.payload());
                args.add("");
            }
            settle(e.getKey(), args);
        }
    }

    @Override
    public void defer(Delivery delivery, Instant eta) {
        String list = listKey(delivery.queue(), delivery.priority());
        settle(SCHEDULED, List.of("defer", delivery.ackToken(), scheduledMember(list, delivery.payload()),
                Double.toString(epochSeconds(eta))));
    }

    @Override
    public void deadLetter(Delivery delivery, String reason) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("id", UUID.randomUUID().toString());
        record.put("queue", delivery.queue());
        record.put("time", now());
        record.put("reason", reason);
        record.put("payload", delivery.payload());
        settle(deadLetterKey, List.of("dead", delivery.ackToken(), "", codec.writeJson(record)));
    }

    private void settle(String target, List<String> args) {
        try {
            SETTLE.run(connection().sync(), ScriptOutputType.INTEGER,
                    new String[] {UNACKED, UNACKED_INDEX, mine, target}, args.toArray(String[]::new));
        } catch (RuntimeException e) {
            throw unavailable("Settling messages (" + args.get(0) + ")", e);
        }
    }

    // ------------------------------------------------------------------ dead letters

    @Override
    public List<DeadLetter> deadLetters(int limit) {
        List<DeadLetter> out = new ArrayList<>();
        for (String raw : connection().sync().lrange(deadLetterKey, 0, limit - 1)) {
            out.add(toDeadLetter(raw));
        }
        return out;
    }

    @Override
    public long deadLetterCount() {
        return connection().sync().llen(deadLetterKey);
    }

    private DeadLetter toDeadLetter(String raw) {
        return DeadLetterRecords.read(codec, raw).letter();
    }

    @Override
    public boolean requeueDeadLetter(String id) {
        return deadLetterOp(id, "requeue");
    }

    @Override
    public boolean discardDeadLetter(String id) {
        return deadLetterOp(id, "discard");
    }

    private boolean deadLetterOp(String id, String mode) {
        for (String raw : connection().sync().lrange(deadLetterKey, 0, -1)) {
            DeadLetterRecords.Read r = DeadLetterRecords.read(codec, raw);
            if (r.letter().id().equals(id)) {
                // Records are plain text (what may not be UTF-8 is base64 inside), so the record's bytes are its
                // text's; the message goes back byte for byte.
                Long n = DEAD_LETTER_OP.run(bytes(), ScriptOutputType.INTEGER,
                        new byte[][] {b(deadLetterKey), b(r.letter().queue())}, b(raw), b(mode), r.payload());
                return n != null && n == 1;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ queues

    @Override
    public long queueLength(String queue) {
        RedisAsyncCommands<String, String> async = connection().async();
        try {
            List<RedisFuture<Long>> f = new ArrayList<>();
            for (int s : STEPS) {
                f.add(async.llen(listKey(queue, s)));
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
            throw unavailable("Reading the length of " + queue, e);
        }
    }

    @Override
    public long purge(String queue) {
        long n = queueLength(queue);
        String[] keys = new String[STEPS.length];
        for (int i = 0; i < STEPS.length; i++) {
            keys[i] = listKey(queue, STEPS[i]);
        }
        connection().sync().del(keys);
        return n;
    }

    /** Messages waiting for their ETA in {@code celeriac.scheduled}. */
    public long scheduledCount() {
        return connection().sync().zcard(SCHEDULED);
    }

    /** Delivered, not yet acked messages (kombu's {@code unacked} hash, all consumers). */
    public long unackedCount() {
        return connection().sync().hlen(UNACKED);
    }

    /** Unacked tags with their reservation time, oldest first (for operators). */
    public List<KeyValue<String, Double>> unacked(int limit) {
        List<KeyValue<String, Double>> out = new ArrayList<>();
        for (ScoredValue<String> v : connection().sync().zrangeWithScores(UNACKED_INDEX, 0, limit - 1)) {
            out.add(KeyValue.just(v.getValue(), v.getScore()));
        }
        return out;
    }

    // ------------------------------------------------------------------ background: ETA, heartbeat, recovery

    private void startConsuming() {
        if (consuming) {
            return;
        }
        synchronized (this) {
            if (consuming || closed) {
                return;
            }
            // Registered before the first reserve can record anything as ours, so that our messages are always
            // recoverable; if Redis is down this throws and the worker's reserve retries.
            beat();
            consuming = true;
            etaThread = daemon("celeriac-eta", this::etaLoop);
            heartbeatThread = daemon("celeriac-heartbeat", this::heartbeatLoop);
            recoverThread = daemon("celeriac-recover", this::recoverLoop);
        }
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * One heartbeat (heartbeat.lua): registers this consumer again if it is not (reaped while cut off, or lost in a
     * Redis restart) and refreshes its key, on Redis's clock.
     */
    private void beat() {
        List<Long> r = HEARTBEAT.run(sync(), ScriptOutputType.MULTI,
                new String[] {CONSUMERS, UnackedRestorer.HEARTBEAT_PREFIX + consumerId, UnackedRestorer.HEARTBEAT_LAST,
                        UnackedRestorer.REAP_AFTER},
                consumerId, Long.toString(HEARTBEAT_TTL.toMillis()), Long.toString(HEARTBEAT_GAP.toMillis()),
                Long.toString(HEARTBEAT_TTL.plus(REAP_GRACE).toMillis()));
        if (r.get(0) == 1 && registered) {
            log.warn("Consumer {} was presumed dead (no heartbeat reached Redis for {} s) and its unacked messages "
                    + "were put back on their queues; registered again. Tasks it is still running may also run "
                    + "elsewhere; its acks of them are ignored.", consumerId, HEARTBEAT_TTL.toSeconds());
        }
        registered = true;
    }

    /**
     * Moves due messages from {@code celeriac.scheduled} to their lists (those a Celeriac worker deferred): reads
     * the due members here, then move_due.lua moves each one it could remove. Wakes at the next due time, at most
     * 250 ms apart.
     */
    private void etaLoop() {
        while (!closed) {
            long sleep = 250;
            try {
                double now = now();
                List<ScoredValue<byte[]>> next = bytes().zrangeWithScores(b(SCHEDULED), 0, 0);
                if (!next.isEmpty()) {
                    double at = next.get(0).getScore();
                    if (at <= now) {
                        if (moveDue(now) > 0) {
                            continue;
                        }
                        sleep = 10;
                    } else {
                        sleep = Math.max(1, Math.min(250, (long) ((at - now) * 1000)));
                    }
                }
            } catch (RuntimeException e) {
                if (!closed) {
                    log.debug("ETA mover: {}", e.toString());
                }
                sleep = 500;
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private int moveDue(double now) {
        RedisCommands<byte[], byte[]> bytes = bytes();
        List<byte[]> due = bytes.zrangebyscore(b(SCHEDULED),
                Range.from(Range.Boundary.unbounded(), Range.Boundary.including(now)), Limit.create(0, MOVE_BATCH));
        if (due.isEmpty()) {
            return 0;
        }
        UnackedRestorer.Targets targets = new UnackedRestorer.Targets(b(SCHEDULED), b(deadLetterKey));
        List<byte[]> args = new ArrayList<>(1 + due.size() * 3);
        args.add(b(Double.toString(now)));
        for (byte[] member : due) {
            args.add(member);
            int[] at = parseScheduledMember(member);
            if (at == null) {
                args.add(b("0"));
                args.add(DeadLetterRecords.binary(codec, UUID.randomUUID().toString(), "", now,
                        "scheduled entry is not <length>:<list><message>; its value is kept (base64)", member));
            } else {
                byte[] list = Arrays.copyOfRange(member, at[0], at[0] + at[1]);
                args.add(b(Integer.toString(targets.index(list))));
                args.add(b(Integer.toString(at[0] + at[1])));
            }
        }
        Long moved = MOVE_DUE.run(bytes, ScriptOutputType.INTEGER, targets.keys(), args.toArray(byte[][]::new));
        return moved == null ? 0 : moved.intValue();
    }

    /** {start of the list key, its length} in a {@code celeriac.scheduled} member, or null if it does not parse. */
    static int[] parseScheduledMember(byte[] member) {
        int colon = -1;
        for (int i = 0; i < Math.min(member.length, 11); i++) {
            if (member[i] == ':') {
                colon = i;
                break;
            }
            if (member[i] < '0' || member[i] > '9') {
                return null;
            }
        }
        if (colon <= 0) {
            return null;
        }
        long len = Long.parseLong(new String(member, 0, colon, StandardCharsets.US_ASCII));
        if (len <= 0 || colon + 1 + len > member.length) {
            return null;
        }
        return new int[] {colon + 1, (int) len};
    }

    private void heartbeatLoop() {
        while (!closed) {
            try {
                beat();
            } catch (RuntimeException e) {
                if (!closed) {
                    log.debug("heartbeat: {}", e.toString());
                }
            }
            try {
                Thread.sleep(HEARTBEAT_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    // Its own thread, so that a long recovery never delays a heartbeat.
    private void recoverLoop() {
        while (!closed) {
            try {
                Thread.sleep(RECOVER_EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            try {
                recoverNow();
            } catch (RuntimeException e) {
                if (!closed) {
                    log.debug("recovery: {}", e.toString());
                }
            }
        }
    }

    /**
     * Returns unacked messages of dead consumers to their queues, and any unacked message older than the
     * visibility timeout that no registered Celeriac consumer holds. A consumer is dead when its heartbeat key
     * expired on Redis's clock, except while reaping is held after a gap in everyone's heartbeats (Redis was down,
     * paused or restarted): then nobody is reaped until {@code celeriac.reap.after}. Returns {dead consumers,
     * restored messages}.
     */
    public long[] recoverNow() {
        UnackedRestorer.Result r;
        try {
            r = restorer.recover();
        } catch (RuntimeException e) {
            throw unavailable("Recovering unacked messages", e);
        }
        if (r.reaped() > 0 || r.restored() > 0) {
            log.warn("Recovered {} message(s) from {} consumer(s) that stopped without acking", r.restored(),
                    r.reaped());
        }
        if (r.heldUntil() > 0 && r.heldUntil() != heldUntilLogged) {
            heldUntilLogged = r.heldUntil();
            log.info("No heartbeat reached Redis for over {} s (Redis down, paused or restarted?): no consumer is "
                    + "presumed dead before {} (Redis's clock), time for live ones to beat again",
                    HEARTBEAT_GAP.toSeconds(), Instant.ofEpochMilli(r.heldUntil()));
        }
        return new long[] {r.reaped(), r.restored()};
    }

    // ------------------------------------------------------------------ remote control and events

    private synchronized StatefulRedisPubSubConnection<String, String> pubsub() {
        if (pubsub == null) {
            StatefulRedisPubSubConnection<String, String> c = redis.openPubSub();
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    if (channel.equals(pidboxChannel)) {
                        onPidbox(message);
                    }
                }

                @Override
                public void message(String pattern, String channel, String message) {
                    onEvent(message);
                }
            });
            pubsub = c;
        }
        return pubsub;
    }

    @Override
    public void broadcast(ControlMessage message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", message.method());
        body.put("arguments", message.arguments());
        body.put("destination", message.destination().isEmpty() ? null : message.destination());
        body.put("pattern", null);
        body.put("matcher", null);
        if (message.replyTo() != null) {
            body.put("ticket", message.ticket());
            Map<String, Object> replyTo = new LinkedHashMap<>();
            replyTo.put("exchange", "reply.celery.pidbox");
            replyTo.put("routing_key", message.replyTo());
            body.put("reply_to", replyTo);
        }
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("clock", clockTick.incrementAndGet());
        headers.put("expires", now() + 10);
        String envelope = codec.encodeEnvelope(new Envelope(codec.writeJson(body), "application/json", "utf-8",
                headers, properties(2, "celery.pidbox", "")));
        try {
            connection().sync().publish(pidboxChannel, envelope);
        } catch (RuntimeException e) {
            throw unavailable("Broadcasting " + message.method(), e);
        }
    }

    private Map<String, Object> properties(int deliveryMode, String exchange, String routingKey) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("delivery_mode", deliveryMode);
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("exchange", exchange);
        info.put("routing_key", routingKey);
        p.put("delivery_info", info);
        p.put("priority", 0);
        p.put("body_encoding", "base64");
        p.put("delivery_tag", UUID.randomUUID().toString());
        return p;
    }

    @Override
    public AutoCloseable subscribeBroadcast(Consumer<ControlMessage> listener) {
        // Listener added only once the subscription holds: a subscribe that fails (Redis down) and is retried must
        // not leave a second copy of the listener behind.
        pubsub().sync().subscribe(pidboxChannel);
        controlListeners.add(listener);
        return () -> controlListeners.remove(listener);
    }

    private void onPidbox(String message) {
        ControlMessage m;
        try {
            Envelope e = codec.decodeEnvelope(message);
            Map<String, Object> body = codec.readJsonObject(e.body());
            Object dest = body.get("destination");
            List<String> destination = new ArrayList<>();
            if (dest instanceof List<?> l) {
                l.forEach(x -> destination.add(String.valueOf(x)));
            }
            Object replyTo = body.get("reply_to");
            String replyKey = replyTo instanceof Map<?, ?> r && r.get("routing_key") != null
                    ? r.get("routing_key").toString() : null;
            @SuppressWarnings("unchecked")
            Map<String, Object> args = body.get("arguments") instanceof Map<?, ?> a ? (Map<String, Object>) a
                    : Map.of();
            Object ticket = body.get("ticket");
            m = new ControlMessage(String.valueOf(body.get("method")), args, destination,
                    ticket == null ? null : ticket.toString(), replyKey);
        } catch (RuntimeException ex) {
            log.debug("ignoring a pidbox message that does not parse: {}", ex.toString());
            return;
        }
        for (Consumer<ControlMessage> l : controlListeners) {
            l.accept(m);
        }
    }

    @Override
    public void reply(ControlMessage request, String hostname, Object answer) {
        if (request.replyTo() == null) {
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put(hostname, answer);
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("ticket", request.ticket());
        headers.put("clock", clockTick.incrementAndGet());
        String envelope = codec.encodeEnvelope(new Envelope(codec.writeJson(body), "application/json", "utf-8",
                headers, properties(1, "reply.celery.pidbox", request.replyTo())));
        connection().sync().lpush(request.replyTo() + ".reply.celery.pidbox", envelope);
    }

    @Override
    public List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
        String replyId = UUID.randomUUID().toString();
        String ticket = UUID.randomUUID().toString();
        String replyQueue = replyId + ".reply.celery.pidbox";
        String binding = replyId + SEP + SEP + replyQueue;
        List<Map<String, Object>> replies = new ArrayList<>();
        StatefulRedisConnection<String, String> blocking = redis.open();
        try {
            connection().sync().sadd("_kombu.binding.reply.celery.pidbox", binding);
            broadcast(new ControlMessage(message.method(), message.arguments(), message.destination(), ticket,
                    replyId));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                KeyValue<String, String> kv = blocking.sync().brpop(Math.max(0.01, left / 1e9), replyQueue);
                if (kv == null || !kv.hasValue()) {
                    continue;
                }
                Envelope e = codec.decodeEnvelope(kv.getValue());
                if (ticket.equals(String.valueOf(e.headers().get("ticket")))) {
                    replies.add(codec.readJsonObject(e.body()));
                }
            }
        } catch (RuntimeException e) {
            throw unavailable("Collecting replies to " + message.method(), e);
        } finally {
            try {
                connection().sync().srem("_kombu.binding.reply.celery.pidbox", binding);
                connection().sync().del(replyQueue);
            } catch (RuntimeException e) {
                log.debug("cleanup of reply queue failed: {}", e.toString());
            }
            blocking.close();
        }
        return replies;
    }

    @Override
    public void publishEvent(String routingKey, String hostname, Object body) {
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("hostname", hostname);
        String envelope = codec.encodeEnvelope(new Envelope(codec.writeJson(body), "application/json", "utf-8",
                headers, properties(1, "celeryev", routingKey)));
        connection().async().publish(eventPrefix + routingKey, envelope);
    }

    @Override
    public AutoCloseable subscribeEvents(Consumer<Map<String, Object>> listener) {
        pubsub().sync().psubscribe(eventPrefix + "*");
        eventListeners.add(listener);
        return () -> eventListeners.remove(listener);
    }

    @SuppressWarnings("unchecked")
    private void onEvent(String message) {
        Object body;
        try {
            body = codec.readJson(codec.decodeEnvelope(message).body());
        } catch (RuntimeException e) {
            log.debug("ignoring an event that does not parse: {}", e.toString());
            return;
        }
        List<Object> events = body instanceof List<?> l ? (List<Object>) l : List.of(body);
        for (Object e : events) {
            if (e instanceof Map<?, ?> m) {
                for (Consumer<Map<String, Object>> l : eventListeners) {
                    l.accept((Map<String, Object>) m);
                }
            }
        }
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
            try {
                RedisCommands<String, String> redis = connection().sync();
                redis.del(UnackedRestorer.HEARTBEAT_PREFIX + consumerId);
                // With messages still unacked, stay registered without a heartbeat: the next recovery run by any
                // consumer returns them at once. With none, leave cleanly.
                if (redis.scard(mine) == 0) {
                    redis.srem(CONSUMERS, consumerId);
                }
            } catch (RuntimeException e) {
                log.debug("could not unregister consumer {}: {}", consumerId, e.toString());
            }
        }
        waiters.values().forEach(StatefulRedisConnection::close);
        if (pubsub != null) {
            pubsub.close();
        }
        redis.close();
    }
}
