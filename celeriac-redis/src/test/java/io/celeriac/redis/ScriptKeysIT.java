package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every key a Lua script touches is one it declared in KEYS (what Redis Cluster requires, and what lets Redis route
 * and check a script by its keys). Redis does not enforce this outside a cluster, so the test watches: MONITOR shows
 * each command a script runs ({@code [0 lua]}) right after the EVALSHA that ran it; Redis itself says which arguments
 * of each command are keys ({@code COMMAND GETKEYS}); every one must be among the EVALSHA's keys. The workload runs
 * every script of the module down its less common paths too (malformed and non-UTF-8 messages, a reaped consumer
 * with a named exchange and an unreadable entry, the visibility timeout, the beat lease).
 */
class ScriptKeysIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    /** Every script of the module, with the preludes it is built with. */
    private static final Map<String, LuaScript> SCRIPTS = new LinkedHashMap<>();

    static {
        for (LuaScript s : List.of(new LuaScript("reserve", "ack_held"), new LuaScript("ack", "ack_held"),
                new LuaScript("settle"), new LuaScript("move_due"), new LuaScript("heartbeat", "liveness"),
                new LuaScript("recover", "liveness"), new LuaScript("restore_visible"), new LuaScript("dead_letter_op"), new LuaScript("publish_once"),
                new LuaScript("beat_lease"), new LuaScript("ledger_record"), new LuaScript("ledger_claim"),
                new LuaScript("ledger_drop"))) {
            SCRIPTS.put(s.digest(), s);
        }
    }

    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);
    private RedisClient client;
    private StatefulRedisConnection<byte[], byte[]> raw;
    private RedisCommands<byte[], byte[]> bytes;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        raw = client.connect(ByteArrayCodec.INSTANCE);
        bytes = raw.sync();
        bytes.flushall();
    }

    @AfterEach
    void tearDown() {
        raw.close();
        client.shutdown();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private OutboundMessage message(String queue, int priority, String id) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey(queue).priority(priority)
                .deliveryTag("tag-" + id).build();
        return new OutboundMessage(queue, priority, codec.encode(m), id, null);
    }

    /** The message's kombu envelope, as it is stored in Redis. */
    private String envelope(String queue, int priority, String id) {
        return kombu.encode(message(queue, priority, id).message());
    }

    @Test
    void everyKeyAScriptTouchesIsDeclared() throws Exception {
        List<String> lines;
        try (Monitor monitor = new Monitor(REDIS.port())) {
            workload();
            lines = monitor.lines();
        }

        Set<String> ran = new HashSet<>();
        List<String> undeclared = new ArrayList<>();
        int checked = 0;
        String script = null;
        Set<String> declared = Set.of();
        for (String line : lines) {
            int bracket = line.indexOf("] ");
            List<byte[]> args = Monitor.parseArgs(line.substring(bracket + 2));
            String cmd = new String(args.get(0), StandardCharsets.ISO_8859_1).toLowerCase();
            if (!line.matches("^\\S+ \\[\\d+ lua\\] .*")) {
                if (cmd.equals("evalsha") || cmd.equals("eval")) {
                    String sha = new String(args.get(1), StandardCharsets.ISO_8859_1);
                    LuaScript s = SCRIPTS.get(sha);
                    script = s == null ? sha : s.toString();
                    ran.add(script);
                    int n = Integer.parseInt(new String(args.get(2), StandardCharsets.ISO_8859_1));
                    declared = new HashSet<>();
                    for (int i = 3; i < 3 + n; i++) {
                        declared.add(new String(args.get(i), StandardCharsets.ISO_8859_1));
                    }
                } else {
                    script = null;
                }
                continue;
            }
            assertThat(script).as("a script command follows its EVALSHA: " + line).isNotNull();
            for (byte[] key : keysOf(args)) {
                checked++;
                String k = new String(key, StandardCharsets.ISO_8859_1);
                if (!declared.contains(k)) {
                    undeclared.add(script + ": " + cmd.toUpperCase() + " " + Monitor.printable(k));
                }
            }
        }
        assertThat(ran).as("scripts the workload ran").containsAll(
                SCRIPTS.values().stream().map(LuaScript::toString).toList());
        assertThat(checked).as("keys checked").isGreaterThan(50);
        assertThat(undeclared).as("keys touched but not declared").isEmpty();
    }

    /** The keys among a command's arguments, as Redis itself tells them. */
    private List<byte[]> keysOf(List<byte[]> args) {
        String cmd = new String(args.get(0), StandardCharsets.ISO_8859_1);
        // No key arguments (PUBLISH and PUBSUB name channels, SELECT a database): COMMAND GETKEYS refuses to answer
        // for them.
        if (cmd.equalsIgnoreCase("TIME") || cmd.equalsIgnoreCase("PUBLISH") || cmd.equalsIgnoreCase("PUBSUB")
                || cmd.equalsIgnoreCase("SELECT")) {
            return List.of();
        }
        CommandArgs<byte[], byte[]> a = new CommandArgs<>(ByteArrayCodec.INSTANCE).add("GETKEYS");
        args.forEach(a::add);
        try {
            List<Object> keys = bytes.dispatch(CommandType.COMMAND, new ArrayOutput<>(ByteArrayCodec.INSTANCE), a);
            return keys.stream().map(k -> (byte[]) k).toList();
        } catch (RedisException e) {
            throw new AssertionError("COMMAND GETKEYS refused " + cmd + ": " + e.getMessage(), e);
        }
    }

    private void workload() throws Exception {
        CeleriacConfig config = CeleriacConfig.builder().visibilityTimeout(Duration.ofSeconds(60)).build();
        RedisBroker b = new RedisBroker(RedisUrl.parse(REDIS.url(0)), config, codec, Clock.systemUTC());
        try {
            b.declare(List.of("a", "b"));
            List<OutboundMessage> batch = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                batch.add(message("a", 0, "a" + i));
                batch.add(message("b", 9, "b" + i));
            }
            b.publish(batch);
            bytes.lpush(utf8("a"), utf8("junk"));
            bytes.lpush(utf8("b"), new byte[] {'j', (byte) 0xFF});
            byte[] invalid = utf8(envelope("a", 0, "bad")
                    .replaceFirst("\"headers\":\\s*\\{", "\"headers\": {\"x\": \"@\", "));
            invalid[indexOf(invalid, (byte) '@')] = (byte) 0xFF;
            bytes.lpush(utf8("a"), invalid);

            // reserve (+ heartbeat), ack, settle in each mode, move_due.
            List<Delivery> got = b.reserve(List.of("a", "b"), 20, Duration.ofSeconds(1));
            assertThat(got).hasSize(8);
            b.ack(got.subList(0, 1));
            // Results stored by the reserve script itself, in the backend's database, with the ack.
            try (RedisResultBackend backend = new RedisResultBackend(RedisUrl.parse(REDIS.url(1)),
                    Duration.ofHours(1), codec)) {
                // Three, so that the script asks who listens before publishing.
                b.storeAckAndReserve(backend, List.of(ResultDocument.of("a-result", "SUCCESS", 1),
                                ResultDocument.of("b-result", "SUCCESS", 2), ResultDocument.of("c-result", "SUCCESS", 3)),
                        got.subList(1, 2), List.of("a", "b"), 0, Duration.ZERO);
                assertThat(backend.get("a-result")).isPresent();
                assertThat(backend.get("c-result")).isPresent();
            }
            b.requeue(got.subList(2, 4));
            b.deadLetter(got.get(4), "for the test");
            Delivery later = got.get(5);
            b.defer(later, Instant.now().plusMillis(300));
            List<String> seen = new ArrayList<>();
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                for (Delivery d : b.reserve(List.of("a", "b"), 20, Duration.ofMillis(200))) {
                    seen.add(d.ackToken());
                }
                return seen.contains(later.ackToken());
            });

            // dead_letter_op both ways; publish_once.
            List<DeadLetter> dead = b.deadLetterQueue().orElseThrow().list(10);
            assertThat(dead).hasSizeGreaterThanOrEqualTo(4);
            assertThat(b.deadLetterQueue().orElseThrow().requeue(dead.get(0).id())).isTrue();
            assertThat(b.deadLetterQueue().orElseThrow().discard(dead.get(1).id())).isTrue();
            assertThat(b.onceDispatch().orElseThrow()
                    .publishOnce("celeriac.once:x", Duration.ofSeconds(5), message("a", 0, "once"))).isTrue();

            // recover: a consumer that died holding an entry on the default exchange, one on a named exchange
            // (the queue found through its binding) and one that is not kombu's format.
            String ghost = "ghost";
            String onDefault = envelope("a", 0, "g1");
            String onNamed = envelope("b", 0, "g2");
            Map<String, String> entries = Map.of(
                    "tag-g1", "[" + onDefault + ", \"\", \"a\"]",
                    "tag-g2", "[" + onNamed + ", \"ex\", \"rk\"]",
                    "tag-g3", "not an entry");
            bytes.sadd(utf8("_kombu.binding.ex"), utf8("rk\u0006\u0016\u0006\u0016b"));
            for (Map.Entry<String, String> e : entries.entrySet()) {
                bytes.hset(utf8("unacked"), utf8(e.getKey()), utf8(e.getValue()));
                bytes.zadd(utf8("unacked_index"), Instant.now().getEpochSecond(), utf8(e.getKey()));
                bytes.sadd(utf8("celeriac.unacked." + ghost), utf8(e.getKey()));
            }
            bytes.sadd(utf8("celeriac.consumers"), utf8(ghost));
            List<byte[]> time = bytes.time();
            bytes.set(utf8("celeriac.heartbeat.last"), utf8(Long.parseLong(new String(time.get(0),
                    StandardCharsets.US_ASCII)) * 1000 + ""));
            bytes.del(utf8("celeriac.reap.after"));
            b.recoverNow();
            assertThat(bytes.sismember(utf8("celeriac.consumers"), utf8(ghost))).isFalse();
            assertThat(bytes.lrange(utf8("b"), 0, -1)).anySatisfy(v -> assertThat(v).isEqualTo(utf8(onNamed)));

            // restore_visible: an old entry no Celeriac consumer holds, as a Python worker leaves it.
            String py = envelope("a", 0, "py");
            bytes.hset(utf8("unacked"), utf8("py-tag"), utf8("[" + py + ", \"\", \"a\"]"));
            bytes.zadd(utf8("unacked_index"), Instant.now().getEpochSecond() - 120, utf8("py-tag"));
            b.recoverNow();
            assertThat(bytes.hexists(utf8("unacked"), utf8("py-tag"))).isFalse();
        } finally {
            b.close();
        }
        try (RedisScheduleStore store = new RedisScheduleStore(REDIS.url(0), CeleriacConfig.defaults())) {
            assertThat(store.lease("beat-1", Duration.ofSeconds(5))).isPresent();
            store.release("beat-1");
            // The dispatch ledger: record, claim (an expired record dropped, a pending one claimed), sent, forget.
            io.celeriac.broker.DispatchLedger ledger = store.dispatchLedger().orElseThrow();
            assertThat(ledger.record("celeriac.beat.sent:x:1", Duration.ofMillis(1), message("a", 0, "l1"))).isTrue();
            assertThat(ledger.record("celeriac.beat.sent:x:2", Duration.ofDays(1), message("a", 0, "l2"))).isTrue();
            assertThat(ledger.record("celeriac.beat.sent:x:3", Duration.ofDays(1), message("a", 0, "l3"))).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> !ledger.claimPending(Duration.ZERO, 10).isEmpty());
            ledger.markSent("celeriac.beat.sent:x:2");
            ledger.forget("celeriac.beat.sent:x:3");
        }
    }

    private static int indexOf(byte[] b, byte x) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    /** A MONITOR connection of its own (raw RESP: Lettuce has no MONITOR), collecting lines until closed. */
    static final class Monitor implements AutoCloseable {
        private final Socket socket;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        Monitor(int port) throws IOException {
            socket = new Socket(InetAddress.getLoopbackAddress(), port);
            socket.getOutputStream().write("MONITOR\r\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.ISO_8859_1));
            assertThat(in.readLine()).isEqualTo("+OK");
            reader = new Thread(() -> {
                try {
                    for (String l; (l = in.readLine()) != null; ) {
                        if (l.startsWith("+")) {
                            lines.add(l.substring(1));
                        }
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "monitor-reader");
            reader.setDaemon(true);
            reader.start();
        }

        /** The lines so far, once a marker command sent now has come back (so nothing before it is missing). */
        List<String> lines() throws IOException {
            String marker = "monitor-end-" + UUID.randomUUID();
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), socket.getPort())) {
                s.getOutputStream().write(("ECHO " + marker + "\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.getInputStream().read(new byte[64]);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> lines.stream().anyMatch(l -> l.contains(marker)));
            return new ArrayList<>(lines);
        }

        /** The quoted, escaped arguments of a MONITOR line (Redis's sdscatrepr), as bytes. */
        static List<byte[]> parseArgs(String s) {
            List<byte[]> out = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                if (s.charAt(i) != '"') {
                    i++;
                    continue;
                }
                ByteArrayOutputStream arg = new ByteArrayOutputStream();
                i++;
                while (s.charAt(i) != '"') {
                    char c = s.charAt(i);
                    if (c == '\\') {
                        char e = s.charAt(i + 1);
                        switch (e) {
                            case 'n' -> arg.write('\n');
                            case 'r' -> arg.write('\r');
                            case 't' -> arg.write('\t');
                            case 'a' -> arg.write(7);
                            case 'b' -> arg.write('\b');
                            case 'x' -> {
                                arg.write(Integer.parseInt(s.substring(i + 2, i + 4), 16));
                                i += 2;
                            }
                            default -> arg.write(e);
                        }
                        i += 2;
                    } else {
                        arg.write(c);
                        i++;
                    }
                }
                out.add(arg.toByteArray());
                i++;
            }
            return out;
        }

        static String printable(String key) {
            return key.replace("\u0006\u0016", "\\x06\\x16");
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
