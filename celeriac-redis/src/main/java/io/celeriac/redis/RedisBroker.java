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
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 * window that loses messages); every consumer keeps a heartbeat so its messages are recovered as soon as it dies
 * rather than after the one-hour visibility timeout; ETA messages wait in {@code celeriac.scheduled}, not in worker
 * memory; poison messages go to a dead-letter list. docs/redis.md has the full key layout.
 */
public final class RedisBroker implements Broker {
    private static final Logger log = LoggerFactory.getLogger(RedisBroker.class);
    static final String SEP = PriorityLists.SEP;
    static final int[] STEPS = PriorityLists.STEPS;
    static final String UNACKED = "unacked";
    static final String UNACKED_INDEX = "unacked_index";
    static final String SCHEDULED = "celeriac.scheduled";
    static final String CONSUMERS = "celeriac.consumers";
    static final Duration HEARTBEAT_TTL = Duration.ofSeconds(10);
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(2);
    private static final Duration RECOVER_EVERY = Duration.ofSeconds(5);

    private static final LuaScript RESERVE = new LuaScript("reserve");
    private static final LuaScript SETTLE = new LuaScript("settle");
    private static final LuaScript MOVE_DUE = new LuaScript("move_due");
    private static final LuaScript RECOVER = new LuaScript("recover");
    private static final LuaScript DEAD_LETTER_OP = new LuaScript("dead_letter_op");
    private static final LuaScript PUBLISH_ONCE = new LuaScript("publish_once");

    private final RedisUrl url;
    private final CeleriacConfig config;
    private final MessageCodec codec;
    private final Clock clock;
    private final RedisConnector redis;
    private final String consumerId = UUID.randomUUID().toString();
    private final String mine = "celeriac.unacked." + consumerId;
    private final String deadLetterKey;
    private final String pidboxChannel;
    private final String eventPrefix;
    private final Map<String, StatefulRedisConnection<String, String>> waiters = new ConcurrentHashMap<>();
    private final Map<String, RedisFuture<String>> pendingWaits = new ConcurrentHashMap<>();
    private final List<Consumer<ControlMessage>> controlListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Map<String, Object>>> eventListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong clockTick = new AtomicLong();
    private final AtomicLong deadSeq = new AtomicLong();
    private volatile StatefulRedisPubSubConnection<String, String> pubsub;
    private volatile Thread etaThread;
    private volatile Thread heartbeatThread;
    private volatile boolean consuming;
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
    }

    private StatefulRedisConnection<String, String> connection() {
        return redis.connection();
    }

    RedisCommands<String, String> sync() {
        return connection().sync();
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
        Instant now = clock.instant();
        Map<String, List<String>> byList = new LinkedHashMap<>();
        List<ScoredValue<String>> scheduled = new ArrayList<>();
        for (OutboundMessage m : messages) {
            String list = listKey(m.queue(), step(m.priority()));
            if (m.eta() != null && m.eta().isAfter(now)) {
                scheduled.add(ScoredValue.just(epochSeconds(m.eta()), scheduledMember(list, m.payload())));
            } else {
                byList.computeIfAbsent(list, k -> new ArrayList<>()).add(m.payload());
            }
        }
        RedisAsyncCommands<String, String> async = connection().async();
        List<RedisFuture<?>> futures = new ArrayList<>();
        try {
            // All commands go out back to back on one connection: one round trip for the whole batch.
            for (Map.Entry<String, List<String>> e : byList.entrySet()) {
                futures.add(async.lpush(e.getKey(), e.getValue().toArray(String[]::new)));
            }
            if (!scheduled.isEmpty()) {
                @SuppressWarnings("unchecked")
                ScoredValue<String>[] values = scheduled.toArray(ScoredValue[]::new);
                futures.add(async.zadd(SCHEDULED, values));
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

    /** Member of {@code celeriac.scheduled}: {@code <length of list key>:<list key><payload>}, unambiguous. */
    static String scheduledMember(String list, String payload) {
        return list.length() + ":" + list + payload;
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
        startConsuming();
        List<String> lists = new ArrayList<>(queues.size() * 4);
        for (String q : queues) {
            for (int s : STEPS) {
                lists.add(listKey(q, s));
            }
        }
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            List<Delivery> got = reserveNow(queues, lists, max);
            if (!got.isEmpty()) {
                return got;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || closed) {
                return List.of();
            }
            waitForAny(lists, left);
        }
    }

    private List<Delivery> reserveNow(List<String> queues, List<String> lists, int max) {
        String[] keys = new String[lists.size() + 4];
        for (int i = 0; i < lists.size(); i++) {
            keys[i] = lists.get(i);
        }
        keys[lists.size()] = UNACKED;
        keys[lists.size() + 1] = UNACKED_INDEX;
        keys[lists.size() + 2] = mine;
        keys[lists.size() + 3] = deadLetterKey;
        List<Object> out;
        try {
            out = RESERVE.run(connection().sync(), ScriptOutputType.MULTI, keys, Integer.toString(max),
                    Double.toString(now()), consumerId + "-" + deadSeq.incrementAndGet());
        } catch (RuntimeException e) {
            throw unavailable("Reserving from " + queues, e);
        }
        List<Delivery> deliveries = new ArrayList<>(out.size() / 3);
        for (int i = 0; i + 2 < out.size(); i += 3) {
            int index = ((Number) out.get(i)).intValue();
            String tag = (String) out.get(i + 1);
            String raw = (String) out.get(i + 2);
            if (index < 0) {
                log.error("Rejecting a malformed message from list '{}': not a JSON kombu envelope; moved to the "
                        + "dead-letter queue '{}' as {}", printable(lists.get(-index - 1)), deadLetterKey, tag);
                continue;
            }
            int listIndex = index - 1;
            String queue = queues.get(listIndex / 4);
            deliveries.add(new Delivery(queue, raw, tag, STEPS[listIndex % 4]));
        }
        return deliveries;
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
        RedisAsyncCommands<String, String> async = connection().async();
        try {
            RedisFuture<Long> a = async.hdel(UNACKED, tags);
            RedisFuture<Long> b = async.zrem(UNACKED_INDEX, tags);
            RedisFuture<Long> c = async.srem(mine, tags);
            a.get(10, TimeUnit.SECONDS);
            b.get(10, TimeUnit.SECONDS);
            c.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerUnavailableException("interrupted while acking", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
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
        Map<String, Object> m = codec.readJsonObject(raw);
        Object time = m.get("time");
        Instant at = time instanceof Number n ? Instant.ofEpochMilli(Math.round(n.doubleValue() * 1000)) : null;
        return new DeadLetter(String.valueOf(m.get("id")), String.valueOf(m.get("queue")),
                String.valueOf(m.get("payload")), String.valueOf(m.get("reason")), at);
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
            DeadLetter d = toDeadLetter(raw);
            if (d.id().equals(id)) {
                Long n = DEAD_LETTER_OP.run(connection().sync(), ScriptOutputType.INTEGER,
                        new String[] {deadLetterKey, d.queue()}, raw, mode, d.payload());
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

    private synchronized void startConsuming() {
        if (consuming || closed) {
            return;
        }
        consuming = true;
        beat();
        connection().sync().sadd(CONSUMERS, consumerId);
        etaThread = daemon("celeriac-eta", this::etaLoop);
        heartbeatThread = daemon("celeriac-heartbeat", this::heartbeatLoop);
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void beat() {
        connection().sync().set("celeriac.consumer." + consumerId, Long.toString(System.currentTimeMillis()),
                SetArgs.Builder.px(HEARTBEAT_TTL.toMillis()));
    }

    /** Moves due ETA messages to their lists; wakes at the next due time, at most 250 ms apart. */
    private void etaLoop() {
        while (!closed) {
            long sleep = 250;
            try {
                Long moved = MOVE_DUE.run(connection().sync(), ScriptOutputType.INTEGER, new String[] {SCHEDULED},
                        Double.toString(now()), "1000");
                if (moved != null && moved == 1000) {
                    continue;
                }
                List<ScoredValue<String>> next = connection().sync().zrangeWithScores(SCHEDULED, 0, 0);
                if (!next.isEmpty()) {
                    long until = (long) ((next.get(0).getScore() - now()) * 1000);
                    sleep = Math.max(1, Math.min(250, until));
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

    private void heartbeatLoop() {
        long lastRecover = 0;
        while (!closed) {
            try {
                beat();
                if (System.nanoTime() - lastRecover > RECOVER_EVERY.toNanos()) {
                    lastRecover = System.nanoTime();
                    recoverNow();
                }
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

    /**
     * Returns unacked messages of dead consumers to their queues, and any unacked message older than the
     * visibility timeout whose owner is not a live Celeriac consumer. Returns {dead consumers, restored messages}.
     */
    public long[] recoverNow() {
        List<Long> r = RECOVER.run(connection().sync(), ScriptOutputType.MULTI,
                new String[] {CONSUMERS, UNACKED, UNACKED_INDEX}, Double.toString(now()),
                Long.toString(config.visibilityTimeout().toSeconds()), "1000");
        long dead = r.get(0);
        long restored = r.get(1);
        if (dead > 0 || restored > 0) {
            log.warn("Recovered {} message(s) from {} consumer(s) that stopped without acking", restored, dead);
        }
        return new long[] {dead, restored};
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
        controlListeners.add(listener);
        pubsub().sync().subscribe(pidboxChannel);
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
        eventListeners.add(listener);
        pubsub().sync().psubscribe(eventPrefix + "*");
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
        for (Thread t : new Thread[] {etaThread, heartbeatThread}) {
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
                redis.del("celeriac.consumer." + consumerId);
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
