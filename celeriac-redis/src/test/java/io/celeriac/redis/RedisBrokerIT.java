package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.testing.CuttingProxy;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The broker against a real redis-server: kombu's key layout, atomic reserve, ETA, dead letters, recovery. */
class RedisBrokerIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);
    private final List<RedisBroker> brokers = new ArrayList<>();
    private RedisClient client;
    private StatefulRedisConnection<String, String> conn;
    private RedisCommands<String, String> redis;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        conn = client.connect();
        redis = conn.sync();
        redis.flushall();
    }

    @AfterEach
    void tearDown() {
        brokers.forEach(RedisBroker::close);
        conn.close();
        client.shutdown();
    }

    private RedisBroker broker(CeleriacConfig config) {
        RedisBroker b = new RedisBroker(RedisUrl.parse(REDIS.url(0)), config, codec, Clock.systemUTC());
        brokers.add(b);
        return b;
    }

    private RedisBroker broker() {
        return broker(CeleriacConfig.defaults());
    }

    @Test
    void aReserveWhoseAnswerIsLostStrandsNothing() throws Exception {
        try (CuttingProxy proxy = new CuttingProxy(REDIS.port())) {
            RedisBroker b = new RedisBroker(RedisUrl.parse("redis://127.0.0.1:" + proxy.port() + "/0"),
                    CeleriacConfig.defaults(), codec, Clock.systemUTC());
            brokers.add(b);
            b.publish(List.of(message("lost.q", 0, "m1"), message("lost.q", 0, "m2"), message("lost.q", 0, "m3")));
            b.reserve(List.of("other.q"), 1, Duration.ZERO); // registered and connected before the cut
            proxy.cutAfterRequestContaining("lost.q");
            assertThatThrownBy(() -> b.reserve(List.of("lost.q"), 2, Duration.ofSeconds(1)))
                    .isInstanceOf(BrokerUnavailableException.class);
            assertThat(proxy.hasCut()).as("the answer to the reserve was lost").isTrue();
            assertThat(redis.hlen(RedisBroker.UNACKED)).as("Redis ran the reserve: two messages are held by a "
                    + "live consumer that never got them").isEqualTo(2);
            List<String> got = reserveThroughReconnect(b, "lost.q", 3);
            assertThat(got).as("each delivered once, in their first order").containsExactly("m1", "m2", "m3");
            assertThat(redis.hlen(RedisBroker.UNACKED)).isEqualTo(3);
        }
    }

    /**
     * Two reserves under way, both run by Redis (held back by a pause until both were sent), both answers lost: the
     * next call puts back what each took, and every message is delivered once, in its first order.
     */
    @Test
    void twoReservesUnderWayWhoseAnswersAreBothLostStrandNothing() throws Exception {
        try (CuttingProxy proxy = new CuttingProxy(REDIS.port())) {
            RedisBroker b = new RedisBroker(RedisUrl.parse("redis://127.0.0.1:" + proxy.port() + "/0"),
                    CeleriacConfig.defaults(), codec, Clock.systemUTC());
            brokers.add(b);
            b.publish(sixMessages("lost2.q"));
            b.reserve(List.of("other.q"), 1, Duration.ZERO); // registered, connected and the script loaded
            proxy.cutAfterRequestContaining("lost2.q");
            redis.clientPause(500);
            var first = b.startStoreAckAndReserve(null, List.of(), List.of(), List.of("lost2.q"), 2);
            var second = b.startStoreAckAndReserve(null, List.of(), List.of(), List.of("lost2.q"), 2);
            assertThatThrownBy(first::await).isInstanceOf(BrokerUnavailableException.class);
            assertThatThrownBy(second::await).isInstanceOf(BrokerUnavailableException.class);
            assertThat(proxy.hasCut()).as("the answers were lost").isTrue();
            assertThat(redis.hlen(RedisBroker.UNACKED)).as("Redis ran both: four messages held by a live consumer "
                    + "that never got them").isEqualTo(4);
            List<String> got = reserveThroughReconnect(b, "lost2.q", 6);
            assertThat(got).as("each delivered once, in their first order")
                    .containsExactly("m1", "m2", "m3", "m4", "m5", "m6");
            assertThat(redis.hlen(RedisBroker.UNACKED)).isEqualTo(6);
        }
    }

    /**
     * A reserve whose answer is lost while a later one is under way (given up on before Redis, paused, ran either):
     * the later call, answered, keeps the first one's note, and the next call puts its messages back. What the
     * answered call took is not put back.
     */
    @Test
    void aReserveGivenUpWhileALaterOneIsUnderWayStrandsNothingAndTheLaterOnesMessagesStay() throws Exception {
        RedisBroker b = broker();
        b.publish(sixMessages("lost3.q"));
        b.reserve(List.of("other.q"), 1, Duration.ZERO); // registered, connected and the script loaded
        redis.clientPause(500);
        var first = b.startStoreAckAndReserve(null, List.of(), List.of(), List.of("lost3.q"), 2);
        var second = b.startStoreAckAndReserve(null, List.of(), List.of(), List.of("lost3.q"), 2);
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(first::await).as("given up on: interrupted while Redis is paused")
                    .isInstanceOf(BrokerUnavailableException.class);
        } finally {
            Thread.interrupted();
        }
        List<String> got = new ArrayList<>();
        second.await().forEach(d -> got.add(id(d, codec)));
        assertThat(got).as("the first call ran first, then this one").containsExactly("m3", "m4");
        assertThat(redis.hlen(RedisBroker.UNACKED)).isEqualTo(4);
        while (got.size() < 6) {
            List<Delivery> next = b.reserve(List.of("lost3.q"), 10, Duration.ofSeconds(1));
            assertThat(next).as("delivered so far: %s", got).isNotEmpty();
            next.forEach(d -> got.add(id(d, codec)));
        }
        assertThat(got).as("the first call's messages put back and served first, each delivered once")
                .containsExactly("m3", "m4", "m1", "m2", "m5", "m6");
        assertThat(redis.hlen(RedisBroker.UNACKED)).isEqualTo(6);
        assertThat(redis.hkeys(RedisKeys.RESERVING_PREFIX + b.consumerId())).as("notes left: the last call's (one "
                + "queue has no order to keep)").hasSize(1);
    }

    /**
     * Lettuce sends a command again after a reconnect when the connection dropped before its answer came (its
     * at-least-once mode), so one reserve call can run twice: the second run answers with what the first took (put
     * back, then taken again), even after a call sent later has run, whose note it leaves alone; nothing stays
     * recorded as held by a live consumer that never got it.
     */
    @Test
    void aReserveCallThatRunsTwiceAnswersWithWhatItTookAndStrandsNothing() throws Exception {
        RedisBroker b = broker();
        b.publish(sixMessages("twice.q"));
        b.reserve(List.of("other.q"), 1, Duration.ZERO); // registered
        RedisKeys keys = RedisKeys.PLAIN;
        List<String> scriptKeys = new ArrayList<>();
        for (int step : new int[] {0, 3, 6, 9}) {
            scriptKeys.add(keys.list("twice.q", step));
        }
        scriptKeys.addAll(List.of(keys.unacked(), keys.unackedIndex(), keys.heldBy(b.consumerId()),
                keys.deadLetter(CeleriacConfig.defaults().deadLetterQueue()), keys.reserving(b.consumerId())));
        LuaScript reserve = new LuaScript("reserve", "ack_held");
        StatefulRedisConnection<byte[], byte[]> bytes = client.connect(io.lettuce.core.codec.ByteArrayCodec.INSTANCE);
        try {
            // Call 1 takes two; call 2, sent while 1 was under way, takes two more; then call 1 runs again (sent
            // again after a reconnect), as it was first sent: naming nothing under way.
            List<String> first = run(reserve, bytes, scriptKeys, args(b, 1, 2, "", ""));
            List<String> second = run(reserve, bytes, scriptKeys, args(b, 2, 2, "", b.consumerId() + "-1"));
            List<String> again = run(reserve, bytes, scriptKeys, args(b, 1, 2, "", ""));
            assertThat(first).hasSize(2);
            assertThat(second).hasSize(2).doesNotContainAnyElementsOf(first);
            assertThat(again).as("the second run answers with what the first took").isEqualTo(first);
            assertThat(redis.hkeys(RedisBroker.UNACKED)).as("held: only what the answers hold")
                    .containsExactlyInAnyOrderElementsOf(concat(first, second));
            // Call 2's answer was lost: the next call puts back what it took (its note outlived call 1's second
            // run) and serves it first.
            List<String> next = run(reserve, bytes, scriptKeys, args(b, 3, 2, b.consumerId() + "-2", ""));
            assertThat(next).as("call 2's messages, put back and taken again").isEqualTo(second);
            assertThat(redis.llen("twice.q")).isEqualTo(2);
        } finally {
            bytes.close();
        }
    }

    /** reserve.lua's arguments for call {@code seq} of {@code b} on twice.q, taking up to {@code max}. */
    private static List<String> args(RedisBroker b, int seq, int max, String lost, String underWay) {
        // max, now, the call's id, lost calls, calls under way, the queues' name, no acks, no results, order 1.
        return List.of(Integer.toString(max), Double.toString(Instant.now().getEpochSecond()),
                b.consumerId() + "-" + seq, lost, underWay, "twice.q", "0", "0", "1");
    }

    private static List<String> run(LuaScript reserve, StatefulRedisConnection<byte[], byte[]> bytes,
                                    List<String> keys, List<String> args) {
        return tags(reserve.run(bytes.sync(), io.lettuce.core.ScriptOutputType.MULTI, bytesOf(keys), bytesOf(args)));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static byte[][] bytesOf(List<String> values) {
        byte[][] out = new byte[values.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i).getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    /** The delivery tags in a reserve.lua answer for one queue: its order, then (list, tag, message) triples. */
    private static List<String> tags(List<Object> answer) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i + 2 < answer.size(); i += 3) {
            out.add(new String((byte[]) answer.get(i + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** The ids of the first {@code n} messages {@code b} reserves from {@code queue}, while it reconnects. */
    private List<String> reserveThroughReconnect(RedisBroker b, String queue, int n) {
        List<String> got = new ArrayList<>();
        await().atMost(10, TimeUnit.SECONDS).until(() -> {
            try {
                b.reserve(List.of(queue), 10, Duration.ofMillis(100)).forEach(d -> got.add(id(d, codec)));
            } catch (BrokerUnavailableException e) {
                // reconnecting
            }
            return got.size() >= n;
        });
        return got;
    }

    private List<OutboundMessage> sixMessages(String queue) {
        List<OutboundMessage> out = new ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            out.add(message(queue, 0, "m" + i));
        }
        return out;
    }

    private OutboundMessage message(String queue, int priority, String id) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey(queue).priority(priority)
                .deliveryTag(UUID.randomUUID().toString()).build();
        return new OutboundMessage(queue, priority, codec.encode(m), id, null);
    }

    private static String id(Delivery d, MessageCodec codec) {
        return codec.decode(d.message()).id();
    }

    private static DeadLetterQueue deadLetters(RedisBroker b) {
        return b.deadLetterQueue().orElseThrow();
    }

    @Test
    void layoutIsKombus() throws Exception {
        RedisBroker b = broker();
        b.declare(List.of("celery"));
        b.publish(List.of(message("celery", 0, "p0"), message("celery", 5, "p5"), message("celery", 9, "p9")));
        assertThat(redis.smembers("_kombu.binding.celery")).containsExactly("celery\u0006\u0016\u0006\u0016celery");
        assertThat(redis.llen("celery")).isEqualTo(1);
        assertThat(redis.llen("celery\u0006\u00163")).isEqualTo(1);
        assertThat(redis.llen("celery\u0006\u00169")).isEqualTo(1);
        assertThat(b.queueLength("celery")).isEqualTo(3);

        List<Delivery> got = b.reserve(List.of("celery"), 10, Duration.ofSeconds(1));
        // Lower priority numbers first, as kombu serves Redis priorities.
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("p0", "p5", "p9");
        assertThat(got).extracting(Delivery::priority).containsExactly(0, 3, 9);
        // Recorded exactly as kombu records unacked messages: [message, exchange, routing_key] + index.
        Delivery first = got.get(0);
        String entry = redis.hget("unacked", first.ackToken());
        String raw = ((RedisDelivery) first).raw();
        assertThat(entry).isEqualTo("[" + raw + ", \"\", \"celery\"]");
        assertThat(redis.zscore("unacked_index", first.ackToken())).isCloseTo(Instant.now().getEpochSecond(),
                org.assertj.core.data.Offset.offset(5.0));
        assertThat(b.queueLength("celery")).isZero();

        b.ack(got);
        assertThat(redis.hlen("unacked")).isZero();
        assertThat(redis.zcard("unacked_index")).isZero();
    }

    /**
     * The reserve script finds the delivery tag, exchange and routing key in the envelope's text when they are
     * unambiguous, and decodes the envelope in full otherwise: either way the delivery and kombu's unacked record are
     * the same as a full decode gives.
     */
    @Test
    void everyEnvelopeLayoutIsReservedAndRecordedAsKombuRecordsIt() throws Exception {
        // envelope text -> the exchange and routing key as kombu's record holds them (JSON text)
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(envelope("compact"), "\"\", \"q\"");
        // Python's json.dumps: a space after every colon and comma.
        cases.put(envelope("spaced").replace("\":", "\": ").replace(",\"", ", \""), "\"\", \"q\"");
        // Keys that make the text ambiguous: another key ending in _tag, a header named properties.
        cases.put(envelope("tagged").replace("\"headers\":{", "\"headers\":{\"x_tag\":\"h\","), "\"\", \"q\"");
        cases.put(envelope("props").replace("\"headers\":{", "\"headers\":{\"properties\":\"p\","), "\"\", \"q\"");
        // An escaped exchange name: decoded, and written back as cjson writes it.
        cases.put(envelope("escaped").replace("\"exchange\":\"\"", "\"exchange\":\"a\\u002fb\""), "\"a\\/b\", \"q\"");
        Map<String, String> tags = new LinkedHashMap<>();
        for (String raw : cases.keySet()) {
            tags.put(raw, codec.decode(kombu.decode(raw)).deliveryTag());
            redis.lpush("q", raw);
        }

        RedisBroker b = broker();
        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));

        assertThat(got).extracting(d -> id(d, codec))
                .containsExactly("compact", "spaced", "tagged", "props", "escaped");
        for (Delivery d : got) {
            String raw = ((RedisDelivery) d).raw();
            assertThat(d.ackToken()).as("tag of %s", id(d, codec)).isEqualTo(tags.get(raw));
            assertThat(redis.hget("unacked", d.ackToken())).as("record of %s", id(d, codec))
                    .isEqualTo("[" + raw + ", " + cases.get(raw) + "]");
        }
        assertThat(deadLetters(b).list(10)).isEmpty();
        b.ack(got);
        assertThat(redis.hlen("unacked")).isZero();
    }

    private String envelope(String id) {
        return kombu.encode(message("q", 0, id).message());
    }

    @Test
    void reserveHonoursMaxAndFifo() throws Exception {
        RedisBroker b = broker();
        List<OutboundMessage> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            batch.add(message("q", 0, "m" + i));
        }
        b.publish(batch);
        List<Delivery> first = b.reserve(List.of("q"), 4, Duration.ofSeconds(1));
        assertThat(first).extracting(d -> id(d, codec)).containsExactly("m0", "m1", "m2", "m3");
        assertThat(b.queueLength("q")).isEqualTo(6);
        assertThat(b.unackedCount()).isEqualTo(4);
    }

    @Test
    void requeuePutsMessagesBackToBeServedNextInOrder() throws Exception {
        RedisBroker b = broker();
        b.publish(List.of(message("q", 0, "a"), message("q", 0, "b"), message("q", 0, "c")));
        List<Delivery> two = b.reserve(List.of("q"), 2, Duration.ofSeconds(1));
        b.requeue(two);
        assertThat(b.unackedCount()).isZero();
        List<Delivery> again = b.reserve(List.of("q"), 3, Duration.ofSeconds(1));
        assertThat(again).extracting(d -> id(d, codec)).containsExactly("a", "b", "c");
    }

    @Test
    void malformedMessagesAreDeadLetteredAtomically() throws Exception {
        RedisBroker b = broker();
        redis.lpush("q", "this is not json");
        b.publish(List.of(message("q", 0, "good")));
        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("good");
        List<DeadLetter> dead = deadLetters(b).list(10);
        assertThat(dead).singleElement().satisfies(d -> {
            assertThat(d.raw()).isEqualTo("this is not json");
            assertThat(d.message()).isNull();
            assertThat(d.reason()).contains("malformed");
            assertThat(d.queue()).isEqualTo("q");
        });
    }

    @Test
    void deadLetterRequeueAndDiscard() throws Exception {
        RedisBroker b = broker();
        b.publish(List.of(message("q", 0, "x"), message("q", 0, "y")));
        List<Delivery> got = b.reserve(List.of("q"), 2, Duration.ofSeconds(1));
        b.deadLetter(got.get(0), "unknown task");
        b.deadLetter(got.get(1), "bad arguments");
        assertThat(b.unackedCount()).isZero();
        List<DeadLetter> dead = deadLetters(b).list(10);
        assertThat(dead).extracting(DeadLetter::reason).containsExactly("bad arguments", "unknown task");
        assertThat(deadLetters(b).count()).isEqualTo(2);
        assertThat(deadLetters(b).requeue(dead.get(1).id())).isTrue();
        assertThat(deadLetters(b).discard(dead.get(0).id())).isTrue();
        assertThat(deadLetters(b).discard("no-such-id")).isFalse();
        assertThat(deadLetters(b).list(10)).isEmpty();
        assertThat(deadLetters(b).count()).isZero();
        assertThat(b.reserve(List.of("q"), 5, Duration.ofSeconds(1))).extracting(d -> id(d, codec))
                .containsExactly("x");
    }

    @Test
    void etaMessagesArePublishedToTheirQueueAsCeleryDoesAndADeferredOneComesBackWhenDue() throws Exception {
        RedisBroker b = broker();
        Instant eta = Instant.now().plusMillis(1500);
        OutboundMessage m = message("q", 0, "later");
        b.publish(List.of(new OutboundMessage("q", 0, m.message(), "later", eta)));
        // On the queue's list like any message (Python workers must see it); nothing in our schedule.
        assertThat(redis.lrange("q", 0, -1)).containsExactly(kombu.encode(m.message()));
        assertThat(b.scheduledCount()).isZero();

        // What a Celeriac worker does with it when it arrives early: hand it back until due.
        Delivery early = b.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        b.defer(early, eta);
        assertThat(b.scheduledCount()).isEqualTo(1);
        assertThat(b.unackedCount()).isZero();
        List<Delivery> got = b.reserve(List.of("q"), 1, Duration.ofSeconds(10));
        Instant arrived = Instant.now();
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("later");
        assertThat(got.get(0).message()).isEqualTo(m.message());
        assertThat(((RedisDelivery) got.get(0)).raw()).isEqualTo(kombu.encode(m.message()));
        assertThat(arrived).isAfterOrEqualTo(eta.minusMillis(5));
        assertThat(Duration.between(eta, arrived)).isLessThan(Duration.ofSeconds(1));
        assertThat(b.scheduledCount()).isZero();
    }

    @Test
    void deferMovesADeliveryToTheSchedule() throws Exception {
        RedisBroker b = broker();
        b.publish(List.of(message("q", 0, "d")));
        Delivery d = b.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        b.defer(d, Instant.now().plusMillis(500));
        assertThat(b.unackedCount()).isZero();
        assertThat(b.scheduledCount()).isEqualTo(1);
        assertThat(b.reserve(List.of("q"), 1, Duration.ofSeconds(10))).extracting(x -> id(x, codec))
                .containsExactly("d");
    }

    @Test
    void reserveWakesUpWhenAMessageArrives() throws Exception {
        RedisBroker b = broker();
        CompletableFuture<List<Delivery>> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return b.reserve(List.of("quiet", "other"), 1, Duration.ofSeconds(20));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300); // let it block
        broker().publish(List.of(message("other", 0, "wake")));
        List<Delivery> got = waiting.get(10, TimeUnit.SECONDS);
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("wake");
        assertThat(got.get(0).queue()).isEqualTo("other");
    }

    @Test
    void aDeadConsumersMessagesAreRecoveredWithoutWaitingForTheVisibilityTimeout() throws Exception {
        // What a consumer killed mid-task leaves behind: registered, no heartbeat key, its tags unacked.
        String dead = "dead-consumer";
        List<String> payloads = new ArrayList<>();
        for (String id : List.of("r1", "r2")) {
            String payload = kombu.encode(message("q", 0, id).message());
            String tag = codec.decode(kombu.decode(payload)).deliveryTag();
            payloads.add(payload);
            redis.hset("unacked", tag, "[" + payload + ", \"\", \"q\"]");
            redis.zadd("unacked_index", Instant.now().getEpochSecond(), tag);
            redis.sadd("celeriac.unacked." + dead, tag);
        }
        redis.sadd("celeriac.consumers", dead);
        // A fleet that is heartbeating (on Redis's clock), so reaping is not on hold as after an outage.
        List<String> time = redis.time();
        redis.set("celeriac.heartbeat.last", Long.toString(Long.parseLong(time.get(0)) * 1000));

        RedisBroker survivor = broker();
        survivor.recoverNow();
        assertThat(redis.hlen("unacked")).isZero();
        assertThat(redis.sismember("celeriac.consumers", dead)).isFalse();
        assertThat(redis.exists("celeriac.unacked." + dead)).isZero();
        // Back at the front of the queue, raw messages unchanged.
        assertThat(redis.lrange("q", 0, -1)).containsExactlyInAnyOrderElementsOf(payloads);
        assertThat(survivor.reserve(List.of("q"), 2, Duration.ofSeconds(1))).extracting(d -> id(d, codec))
                .containsExactlyInAnyOrder("r1", "r2");
    }

    @Test
    void aLiveConsumersMessagesAreLeftAlone() throws Exception {
        RedisBroker alive = broker();
        alive.publish(List.of(message("q", 0, "busy")));
        Delivery d = alive.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        // The first heartbeat ever sets a hold (no earlier heartbeat is known); lift it so that only liveness decides.
        redis.del("celeriac.reap.after");
        assertThat(broker().recoverNow()).containsExactly(0, 0);
        assertThat(redis.hexists("unacked", d.ackToken())).isTrue();
        assertThat(redis.llen("q")).isZero();
    }

    @Test
    void visibilityTimeoutRestoresEntriesWithoutALiveOwnerAsKombuDoes() throws Exception {
        RedisBroker b = broker(CeleriacConfig.builder().visibilityTimeout(Duration.ofSeconds(60)).build());
        // A live consumer's own old entry is not touched.
        b.publish(List.of(message("q", 0, "mine")));
        Delivery mine = b.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        redis.zadd("unacked_index", Instant.now().getEpochSecond() - 120, mine.ackToken());
        // An entry as a Python worker leaves it: in unacked and unacked_index, owned by no Celeriac consumer.
        String payload = kombu.encode(codec.encode(TaskMessage.builder("t.add", "py-1").args(List.of(1, 2))
                .deliveryTag("py-tag").routingKey("q").build()));
        redis.hset("unacked", "py-tag", "[" + payload + ", \"\", \"q\"]");
        redis.zadd("unacked_index", Instant.now().getEpochSecond() - 120, "py-tag");

        b.recoverNow();
        assertThat(redis.lrange("q", 0, -1)).containsExactly(payload);
        assertThat(redis.hexists("unacked", "py-tag")).isFalse();
        assertThat(redis.hexists("unacked", mine.ackToken())).isTrue();
    }

    @Test
    void broadcastReachesSubscribersInCelerysPidboxFormat() throws Exception {
        RedisBroker a = broker();
        RedisBroker b = broker();
        List<ControlMessage> seen = new CopyOnWriteArrayList<>();
        b.controlBus().orElseThrow().subscribe(seen::add);
        a.controlBus().orElseThrow()
                .broadcast(ControlMessage.of("revoke", Map.of("task_id", List.of("abc"), "terminate", false)));
        await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty());
        assertThat(seen.get(0).method()).isEqualTo("revoke");
        assertThat(seen.get(0).arguments()).containsEntry("task_id", List.of("abc"));
    }

    @Test
    void broadcastAndCollectGetsReplies() {
        RedisBroker worker = broker();
        worker.controlBus().orElseThrow()
                .subscribe(m -> worker.controlBus().orElseThrow().reply(m, "w@host", Map.of("ok", "pong")));
        List<Map<String, Object>> replies = broker().controlBus().orElseThrow()
                .broadcastAndCollect(ControlMessage.of("ping", Map.of()), Duration.ofSeconds(1));
        assertThat(replies).containsExactly(Map.of("w@host", Map.of("ok", "pong")));
        assertThat(redis.smembers("_kombu.binding.reply.celery.pidbox")).isEmpty();
    }

    /**
     * {@code event_exchange} and {@code control_exchange} name kombu's channels and keys on Redis as they do the
     * exchanges on RabbitMQ: events on {@code /<db>.<event_exchange>/<routing key>}, commands on
     * {@code /<db>.<control_exchange>.pidbox}, replies bound to {@code reply.<control_exchange>.pidbox}.
     */
    @Test
    void eventAndControlExchangesNameTheChannelsAsKombuDoes() throws Exception {
        CeleriacConfig ops = CeleriacConfig.builder().eventExchange("ops.events").controlExchange("ops").build();
        RedisBroker worker = broker(ops);
        RedisBroker caller = broker(ops);
        List<String> channels = new CopyOnWriteArrayList<>();
        try (io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> observer = client.connectPubSub()) {
            observer.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    channels.add(channel);
                }
            });
            observer.sync().subscribe("/0.ops.events/worker.heartbeat");
            List<Map<String, Object>> seen = new CopyOnWriteArrayList<>();
            caller.eventBus().orElseThrow().subscribe(seen::add);
            // Published until the receiver's subscription (made on its own connection) is in place.
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                worker.eventBus().orElseThrow().publish("worker.heartbeat", "ops@host",
                        Map.of("type", "worker-heartbeat"));
                return !seen.isEmpty();
            });
            assertThat(channels).contains("/0.ops.events/worker.heartbeat");
        }

        worker.controlBus().orElseThrow()
                .subscribe(m -> worker.controlBus().orElseThrow().reply(m, "ops@host", Map.of("ok", "pong")));
        await().atMost(Duration.ofSeconds(10)).until(() -> redis.pubsubChannels("/0.ops.pidbox").size() == 1);
        assertThat(caller.controlBus().orElseThrow().broadcastAndCollect(ControlMessage.of("ping", Map.of()),
                Duration.ofSeconds(5))).containsExactly(Map.of("ops@host", Map.of("ok", "pong")));
        // A caller on Celery's default (celery) broadcasts on /0.celery.pidbox, which this node does not read.
        assertThat(broker().controlBus().orElseThrow().broadcastAndCollect(ControlMessage.of("ping", Map.of()),
                Duration.ofSeconds(1))).isEmpty();
        assertThat(redis.smembers("_kombu.binding.reply.ops.pidbox")).isEmpty();
    }

    /** A message's envelope as stored, with one change made to its JSON. */
    private String alteredEnvelope(String id, Consumer<Map<String, Object>> change) {
        String raw = kombu.encode(message("q", 0, id).message());
        Map<String, Object> env = new LinkedHashMap<>(codec.readJsonObject(raw));
        change.accept(env);
        return codec.writeJson(env);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> properties(Map<String, Object> env) {
        Map<String, Object> p = new LinkedHashMap<>((Map<String, Object>) env.get("properties"));
        env.put("properties", p);
        return p;
    }

    @Test
    void envelopesThatHoldNoMessageAreDeadLetteredOnReserveWithTheRefusalAndNeverHandedOut() throws Exception {
        RedisBroker b = broker();
        // Each is kombu's envelope with a delivery_tag (so the reserve script takes it), but its body cannot be read.
        Map<String, String> reasons = new LinkedHashMap<>();
        reasons.put(alteredEnvelope("no-body", env -> env.remove("body")), "refused: envelope has no body");
        reasons.put(alteredEnvelope("bad-base64", env -> env.put("body", "not base64!")),
                "refused: body is not valid base64");
        reasons.put(alteredEnvelope("rot13", env -> properties(env).put("body_encoding", "rot13")),
                "refused: unsupported body_encoding 'rot13'");
        for (String raw : reasons.keySet()) {
            redis.lpush("q", raw);
        }
        // A readable envelope whose body is not UTF-8 is a message: handed out, refused when the task is decoded.
        byte[] notUtf8 = {'[', '[', '"', (byte) 0xFF, '"', ']', ',', ' ', '{', '}', ',', ' ', '{', '}', ']'};
        String badBody = alteredEnvelope("bad-body",
                env -> env.put("body", Base64.getEncoder().encodeToString(notUtf8)));
        redis.lpush("q", badBody);
        b.publish(List.of(message("q", 0, "good")));

        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));

        assertThat(got).hasSize(2);
        assertThat(((RedisDelivery) got.get(0)).raw()).isEqualTo(badBody);
        assertThat(got.get(0).message().body()).isEqualTo(notUtf8);
        assertThatThrownBy(() -> codec.decode(got.get(0).message())).isInstanceOf(MessageRejectedException.class)
                .hasMessageContaining("not valid UTF-8");
        assertThat(id(got.get(1), codec)).isEqualTo("good");
        // Only what was handed out is unacked; the refused ones' reservations were undone with them.
        assertThat(b.unackedCount()).isEqualTo(2);
        List<DeadLetter> dead = deadLetters(b).list(10);
        assertThat(dead).hasSize(reasons.size()).allSatisfy(d -> {
            assertThat(d.queue()).isEqualTo("q");
            assertThat(reasons).containsKey(d.raw());
            assertThat(d.reason()).startsWith(reasons.get(d.raw()));
            assertThat(d.message()).isNull();
        });
        b.ack(got);
        assertThat(b.unackedCount()).isZero();
        assertThat(redis.scard("celeriac.unacked." + b.consumerId())).isZero();
        assertThat(b.queueLength("q")).isZero();
    }

    /** A message whose first argument is {@code chars} characters long. */
    private OutboundMessage sized(String id, int chars) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of("x".repeat(chars), 2)).routingKey("q")
                .deliveryTag(UUID.randomUUID().toString()).build();
        return new OutboundMessage("q", 0, codec.encode(m), id, null);
    }

    @Test
    void anEnvelopeOverTheSizeLimitIsDeadLetteredUnparsedAndARequeuePutsItBackUnchanged() throws Exception {
        // Two messages a character apart; the limit (at least 1 KiB) is the first one's size, to the byte.
        OutboundMessage fits = sized("fits", 1000);
        long limit = kombu.encode(fits.message()).getBytes(StandardCharsets.UTF_8).length;
        OutboundMessage over = sized("over", 1001);
        String overRaw = kombu.encode(over.message());
        long overBytes = overRaw.getBytes(StandardCharsets.UTF_8).length;
        assertThat(overBytes).as("test setup: just over the limit").isBetween(limit + 1, limit + 8);
        RedisBroker b = broker(CeleriacConfig.builder().maxMessageBytes(limit).build());
        b.publish(List.of(over, fits));

        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));

        // At the limit is within it.
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("fits");
        assertThat(b.unackedCount()).isEqualTo(1);
        assertThat(deadLetters(b).list(10)).singleElement().satisfies(d -> {
            assertThat(d.reason()).isEqualTo("refused: message of " + overBytes + " bytes exceeds the limit of "
                    + limit + " bytes (celeriac_max_message_bytes); it was not parsed");
            assertThat(d.queue()).isEqualTo("q");
            assertThat(d.raw()).isEqualTo(overRaw);
            assertThat(d.message()).isEqualTo(over.message());
        });
        assertThat(deadLetters(b).requeue(deadLetters(b).list(1).get(0).id())).isTrue();
        assertThat(redis.lrange("q", 0, -1)).containsExactly(overRaw);
    }

    @Test
    void aDeliveryAlreadyAckedIsDeadLetteredAllTheSame() throws Exception {
        RedisBroker b = broker();
        b.publish(List.of(message("q", 0, "acked")));
        Delivery d = b.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        b.ack(List.of(d));
        b.deadLetter(d, "arguments did not fit");
        assertThat(b.unackedCount()).isZero();
        assertThat(deadLetters(b).list(10)).singleElement().satisfies(x -> {
            assertThat(x.reason()).isEqualTo("arguments did not fit");
            assertThat(x.raw()).isEqualTo(((RedisDelivery) d).raw());
            assertThat(x.message()).isEqualTo(d.message());
        });
        assertThat(deadLetters(b).requeue(deadLetters(b).list(1).get(0).id())).isTrue();
        assertThat(b.reserve(List.of("q"), 5, Duration.ofSeconds(1))).extracting(x -> id(x, codec))
                .containsExactly("acked");
    }

    @Test
    void purgeEmptiesEveryPriorityList() {
        RedisBroker b = broker();
        b.publish(List.of(message("p", 0, "1"), message("p", 4, "2"), message("p", 9, "3")));
        assertThat(b.purge("p")).isEqualTo(3);
        assertThat(b.queueLength("p")).isZero();
    }
}
