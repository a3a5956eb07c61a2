package io.celeriac.redis;

import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.KeyValue;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Puts unacked messages back on their queues: every message of a Celeriac consumer that stopped heartbeating
 * ({@code recover.lua}), and, as kombu's visibility timeout does, entries older than the timeout that no registered
 * Celeriac consumer holds ({@code restore_visible.lua}).
 *
 * <p>Each pass reads what it needs here (the consumers, their tags, the unacked entries, the bindings of named
 * exchanges) and works out each message's list; the scripts then re-check every entry (still held, value unchanged
 * by its SHA-1, still that old) and act only on those, so they touch no key that is not declared. Liveness itself is
 * decided inside {@code recover.lua} on Redis's clock, where a gap in heartbeats holds all reaping.
 */
final class UnackedRestorer {
    static final String CONSUMERS = RedisKeys.CONSUMERS;
    static final String HEARTBEAT_PREFIX = RedisKeys.HEARTBEAT_PREFIX;
    static final String UNACKED_PREFIX = RedisKeys.UNACKED_PREFIX;
    static final String HEARTBEAT_LAST = RedisKeys.HEARTBEAT_LAST;
    static final String REAP_AFTER = RedisKeys.REAP_AFTER;
    private static final LuaScript RECOVER = new LuaScript("recover", "liveness");
    private static final LuaScript RESTORE_VISIBLE = new LuaScript("restore_visible");
    private static final int BATCH = 500;
    private static final int MAX_PASSES = 100;

    private final RedisConnector redis;
    private final MessageCodec codec;
    private final DoubleSupplier now;
    private final Duration visibilityTimeout;
    private final String deadLetterKey;
    private final Duration gap;
    private final Duration hold;

    /** What one recovery did: consumers reaped, messages restored, and until when (ms, Redis's clock) reaping waits. */
    record Result(long reaped, long restored, long heldUntil) {
    }

    UnackedRestorer(RedisConnector redis, MessageCodec codec, DoubleSupplier now, Duration visibilityTimeout,
                    String deadLetterKey, Duration gap, Duration hold) {
        this.redis = redis;
        this.codec = codec;
        this.now = now;
        this.visibilityTimeout = visibilityTimeout;
        this.deadLetterKey = deadLetterKey;
        this.gap = gap;
        this.hold = hold;
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** One pass over one key space (the plain layout, or one cluster queue's slot). */
    Result recover(RedisKeys keys) {
        StatefulRedisConnection<String, String> connection = redis.connectionFor(keys.consumers());
        RedisCommands<String, String> sync = connection.sync();
        List<String> ids = new ArrayList<>(sync.smembers(keys.consumers()));
        // Who looks dead is read here (one round trip); recover.lua decides again on Redis's clock.
        List<String> silent = new ArrayList<>();
        List<Long> exists = await(ids, id -> connection.async().exists(keys.heartbeat(id)));
        for (int i = 0; i < ids.size(); i++) {
            if (exists.get(i) == 0) {
                silent.add(ids.get(i));
            }
        }
        Map<String, List<String>> bindings = new HashMap<>();
        long reaped = 0;
        long restored = 0;
        long heldUntil = 0;
        for (String id : silent) {
            long[] r = reap(keys, id, bindings);
            if (r[0] < 0) {
                heldUntil = r[2];
                break;
            }
            reaped += r[0];
            restored += r[1];
        }
        restored += restoreVisible(keys, bindings);
        return new Result(reaped, restored, heldUntil);
    }

    /** Returns {1 if reaped / 0 if not / -1 if on hold, restored, reap-after}. */
    private long[] reap(RedisKeys keys, String id, Map<String, List<String>> bindings) {
        RedisCommands<byte[], byte[]> bytes = redis.bytesConnectionFor(keys.consumers()).sync();
        byte[] set = b(keys.heldBy(id));
        long restored = 0;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
            List<byte[]> tags = new ArrayList<>(bytes.srandmember(set, BATCH));
            List<byte[]> values = new ArrayList<>(tags.size());
            if (!tags.isEmpty()) {
                for (KeyValue<byte[], byte[]> kv : bytes.hmget(b(keys.unacked()), tags.toArray(byte[][]::new))) {
                    values.add(kv.hasValue() ? kv.getValue() : null);
                }
            }
            Targets targets = new Targets(b(keys.consumers()), b(keys.heartbeat(id)), set, b(keys.unacked()),
                    b(keys.unackedIndex()), b(keys.heartbeatLast()), b(keys.reapAfter()),
                    b(keys.deadLetter(deadLetterKey)));
            List<byte[]> args = new ArrayList<>();
            args.add(b(id));
            args.add(b(Long.toString(gap.toMillis())));
            args.add(b(Long.toString(hold.toMillis())));
            for (int i = 0; i < tags.size(); i++) {
                entry(keys, args, targets, tags.get(i), values.get(i), bindings);
            }
            List<Long> r = RECOVER.run(bytes, ScriptOutputType.MULTI, targets.keys(), args.toArray(byte[][]::new));
            long outcome = r.get(0);
            restored += r.get(1);
            if (outcome != 2 || r.get(3) == 0) {
                return new long[] {outcome == 1 ? 1 : outcome < 0 ? -1 : 0, restored, r.get(2)};
            }
        }
        return new long[] {0, restored, 0};
    }

    private long restoreVisible(RedisKeys keys, Map<String, List<String>> bindings) {
        RedisCommands<byte[], byte[]> bytes = redis.bytesConnectionFor(keys.consumers()).sync();
        double ceiling = now.getAsDouble() - visibilityTimeout.toSeconds();
        List<byte[]> old = bytes.zrangebyscore(b(keys.unackedIndex()), Range.create(0.0, ceiling),
                Limit.create(0, 1000));
        if (old.isEmpty()) {
            return 0;
        }
        // A registered consumer holding an old entry either runs a long task (alive) or will be reaped; neither is
        // kombu's to restore. Whether a consumer holds it is read now: a later reservation gives the entry a new
        // score, which restore_visible.lua checks.
        byte[][] candidates = old.toArray(byte[][]::new);
        List<String> ids = new ArrayList<>(redis.connectionFor(keys.consumers()).sync().smembers(keys.consumers()));
        boolean[] held = new boolean[candidates.length];
        StatefulRedisConnection<byte[], byte[]> connection = redis.bytesConnectionFor(keys.consumers());
        for (List<Boolean> owned : await(ids, id -> connection.async()
                .smismember(b(keys.heldBy(id)), candidates))) {
            for (int i = 0; i < held.length; i++) {
                held[i] |= owned.get(i);
            }
        }
        List<byte[]> tags = new ArrayList<>();
        for (int i = 0; i < candidates.length; i++) {
            if (!held[i]) {
                tags.add(candidates[i]);
            }
        }
        if (tags.isEmpty()) {
            return 0;
        }
        Targets targets = new Targets(b(keys.unacked()), b(keys.unackedIndex()), b(keys.deadLetter(deadLetterKey)));
        List<byte[]> args = new ArrayList<>();
        args.add(b(Double.toString(ceiling)));
        List<KeyValue<byte[], byte[]>> values = bytes.hmget(b(keys.unacked()), tags.toArray(byte[][]::new));
        for (int i = 0; i < tags.size(); i++) {
            KeyValue<byte[], byte[]> kv = values.get(i);
            entry(keys, args, targets, tags.get(i), kv.hasValue() ? kv.getValue() : null, bindings);
        }
        Long n = RESTORE_VISIBLE.run(bytes, ScriptOutputType.INTEGER, targets.keys(), args.toArray(byte[][]::new));
        return n == null ? 0 : n;
    }

    /** Adds one entry's 5 script arguments: tag, SHA-1 of its value, target, and where the message is (or a record). */
    private void entry(RedisKeys keys, List<byte[]> args, Targets targets, byte[] tag, byte @Nullable [] value,
                       Map<String, List<String>> bindings) {
        args.add(tag);
        if (value == null) {
            args.add(new byte[0]);
            args.add(b("0"));
            args.add(new byte[0]);
            args.add(new byte[0]);
            return;
        }
        args.add(b(sha1(value)));
        UnackedValue v = UnackedValue.parse(value, codec);
        if (v == null) {
            // Not kombu's [message, exchange, routing_key]: no queue to put it on, so keep it where operators look.
            args.add(b("0"));
            args.add(DeadLetterRecords.binary(codec, UUID.randomUUID().toString(), "", now.getAsDouble(),
                    "unacked entry is not kombu's [message, exchange, routing_key]; its value is kept (base64)",
                    value));
            args.add(new byte[0]);
            return;
        }
        // On a cluster a key space holds one queue's messages only, reserved from its lists: they go back there.
        String list = keys.queue() != null ? keys.list(keys.queue(), 0)
                : keys.list(queueOf(keys, v.exchange(), v.routingKey(), bindings), 0);
        args.add(b(Integer.toString(targets.index(b(list)))));
        args.add(b(Integer.toString(v.start() + 1)));
        args.add(b(Integer.toString(v.end() + 1)));
    }

    /** The queue a message goes back to, found as kombu's direct exchange finds it (kombu's {@code _lookup}). */
    private String queueOf(RedisKeys keys, String exchange, String routingKey, Map<String, List<String>> bindings) {
        if (exchange.isEmpty()) {
            return routingKey;
        }
        List<String> members = bindings.computeIfAbsent(exchange,
                ex -> new ArrayList<>(redis.connectionFor(keys.binding(ex)).sync().smembers(keys.binding(ex))));
        for (String member : members) {
            // <routing key>\x06\x16<pattern>\x06\x16<queue>
            String[] parts = member.split(RedisBroker.SEP, 3);
            if (parts.length == 3 && parts[0].equals(routingKey)) {
                return parts[2];
            }
        }
        return routingKey;
    }

    static String sha1(byte[] value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(value));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JVM", e);
        }
    }

    private static <I, T> List<T> await(List<I> items, Function<I, RedisFuture<T>> call) {
        List<RedisFuture<T>> futures = new ArrayList<>(items.size());
        for (I item : items) {
            futures.add(call.apply(item));
        }
        List<T> out = new ArrayList<>(futures.size());
        try {
            for (RedisFuture<T> f : futures) {
                out.add(f.get(RedisConnector.COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading consumers", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("reading consumers failed: " + e, e);
        }
        return out;
    }

    /** A script's KEYS: the fixed ones first, then each target list once; {@link #index} is 1-based as in Lua. */
    static final class Targets {
        private final List<byte[]> keys = new ArrayList<>();
        private final Map<String, Integer> lists = new LinkedHashMap<>();

        Targets(byte[]... fixed) {
            keys.addAll(List.of(fixed));
        }

        int index(byte[] list) {
            return lists.computeIfAbsent(new String(list, StandardCharsets.ISO_8859_1), k -> {
                keys.add(list);
                return keys.size();
            });
        }

        byte[][] keys() {
            return keys.toArray(byte[][]::new);
        }
    }

    /**
     * An unacked value, kombu's JSON {@code [message, exchange, routing_key]}: where the message's bytes are (so it
     * is restored exactly as published, whatever it holds) and the two names, read from the end so that the message
     * itself need not be parsed.
     *
     * @param start index of the message's first byte
     * @param end index of its last byte
     */
    record UnackedValue(int start, int end, String exchange, String routingKey) {
        static @Nullable UnackedValue parse(byte[] v, MessageCodec codec) {
            int i = skipBack(v, v.length - 1);
            if (i < 0 || v[i] != ']') {
                return null;
            }
            int rkEnd = skipBack(v, i - 1);
            int rkStart = openingQuote(v, rkEnd);
            if (rkStart < 0) {
                return null;
            }
            int comma = skipBack(v, rkStart - 1);
            if (comma < 0 || v[comma] != ',') {
                return null;
            }
            int exEnd = skipBack(v, comma - 1);
            int exStart = openingQuote(v, exEnd);
            if (exStart < 0) {
                return null;
            }
            comma = skipBack(v, exStart - 1);
            if (comma < 0 || v[comma] != ',') {
                return null;
            }
            int end = skipBack(v, comma - 1);
            int start = skipForward(v, 1);
            if (v.length == 0 || v[0] != '[' || end < start || v[start] != '{' || v[end] != '}') {
                return null;
            }
            String exchange = jsonString(v, exStart, exEnd, codec);
            String routingKey = jsonString(v, rkStart, rkEnd, codec);
            if (exchange == null || routingKey == null) {
                return null;
            }
            return new UnackedValue(start, end, exchange, routingKey);
        }

        private static int skipBack(byte[] v, int i) {
            while (i >= 0 && (v[i] == ' ' || v[i] == '\n' || v[i] == '\r' || v[i] == '\t')) {
                i--;
            }
            return i;
        }

        private static int skipForward(byte[] v, int i) {
            while (i < v.length && (v[i] == ' ' || v[i] == '\n' || v[i] == '\r' || v[i] == '\t')) {
                i++;
            }
            return i;
        }

        /** Index of the quote opening the JSON string that ends at {@code close}, or -1. */
        private static int openingQuote(byte[] v, int close) {
            if (close < 1 || v[close] != '"') {
                return -1;
            }
            for (int i = close - 1; i >= 0; i--) {
                if (v[i] == '"') {
                    int backslashes = 0;
                    for (int j = i - 1; j >= 0 && v[j] == '\\'; j--) {
                        backslashes++;
                    }
                    if (backslashes % 2 == 0) {
                        return i;
                    }
                }
            }
            return -1;
        }

        private static @Nullable String jsonString(byte[] v, int from, int to, MessageCodec codec) {
            String token = StrictUtf8.decode(Arrays.copyOfRange(v, from, to + 1));
            if (token == null) {
                return null;
            }
            try {
                return codec.readJson(token) instanceof String s ? s : null;
            } catch (RuntimeException e) {
                return null;
            }
        }
    }
}
