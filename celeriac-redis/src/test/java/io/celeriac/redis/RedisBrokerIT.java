package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.redis.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The broker against a real redis-server: kombu's key layout, atomic reserve, ETA, dead letters, recovery. */
class RedisBrokerIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
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

    private OutboundMessage message(String queue, int priority, String id) {
        TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey(queue).priority(priority)
                .deliveryTag(UUID.randomUUID().toString()).build();
        return new OutboundMessage(queue, priority, codec.encode(m), id, null);
    }

    private static String id(Delivery d, MessageCodec codec) {
        return codec.decode(d.payload()).id();
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
        assertThat(entry).isEqualTo("[" + first.payload() + ", \"\", \"celery\"]");
        assertThat(redis.zscore("unacked_index", first.ackToken())).isCloseTo(Instant.now().getEpochSecond(),
                org.assertj.core.data.Offset.offset(5.0));
        assertThat(b.queueLength("celery")).isZero();

        b.ack(got);
        assertThat(redis.hlen("unacked")).isZero();
        assertThat(redis.zcard("unacked_index")).isZero();
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
        List<DeadLetter> dead = b.deadLetters(10);
        assertThat(dead).singleElement().satisfies(d -> {
            assertThat(d.payload()).isEqualTo("this is not json");
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
        List<DeadLetter> dead = b.deadLetters(10);
        assertThat(dead).extracting(DeadLetter::reason).containsExactly("bad arguments", "unknown task");
        assertThat(b.deadLetterCount()).isEqualTo(2);
        assertThat(b.requeueDeadLetter(dead.get(1).id())).isTrue();
        assertThat(b.discardDeadLetter(dead.get(0).id())).isTrue();
        assertThat(b.discardDeadLetter("no-such-id")).isFalse();
        assertThat(b.deadLetters(10)).isEmpty();
        assertThat(b.deadLetterCount()).isZero();
        assertThat(b.reserve(List.of("q"), 5, Duration.ofSeconds(1))).extracting(d -> id(d, codec))
                .containsExactly("x");
    }

    @Test
    void etaMessagesArePublishedToTheirQueueAsCeleryDoesAndADeferredOneComesBackWhenDue() throws Exception {
        RedisBroker b = broker();
        Instant eta = Instant.now().plusMillis(1500);
        OutboundMessage m = message("q", 0, "later");
        b.publish(List.of(new OutboundMessage("q", 0, m.payload(), "later", eta)));
        // On the queue's list like any message (Python workers must see it); nothing in our schedule.
        assertThat(redis.lrange("q", 0, -1)).containsExactly(m.payload());
        assertThat(b.scheduledCount()).isZero();

        // What a Celeriac worker does with it when it arrives early: hand it back until due.
        Delivery early = b.reserve(List.of("q"), 1, Duration.ofSeconds(1)).get(0);
        b.defer(early, eta);
        assertThat(b.scheduledCount()).isEqualTo(1);
        assertThat(b.unackedCount()).isZero();
        List<Delivery> got = b.reserve(List.of("q"), 1, Duration.ofSeconds(10));
        Instant arrived = Instant.now();
        assertThat(got).extracting(d -> id(d, codec)).containsExactly("later");
        assertThat(got.get(0).payload()).isEqualTo(m.payload());
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
            String payload = message("q", 0, id).payload();
            String tag = codec.decode(payload).deliveryTag();
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
        String payload = codec.encode(TaskMessage.builder("t.add", "py-1").args(List.of(1, 2))
                .deliveryTag("py-tag").routingKey("q").build());
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
        b.subscribeBroadcast(seen::add);
        a.broadcast(ControlMessage.of("revoke", Map.of("task_id", List.of("abc"), "terminate", false)));
        await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty());
        assertThat(seen.get(0).method()).isEqualTo("revoke");
        assertThat(seen.get(0).arguments()).containsEntry("task_id", List.of("abc"));
    }

    @Test
    void broadcastAndCollectGetsReplies() {
        RedisBroker worker = broker();
        worker.subscribeBroadcast(m -> worker.reply(m, "w@host", Map.of("ok", "pong")));
        List<Map<String, Object>> replies = broker().broadcastAndCollect(ControlMessage.of("ping", Map.of()),
                Duration.ofSeconds(1));
        assertThat(replies).containsExactly(Map.of("w@host", Map.of("ok", "pong")));
        assertThat(redis.smembers("_kombu.binding.reply.celery.pidbox")).isEmpty();
    }

    @Test
    void purgeEmptiesEveryPriorityList() {
        RedisBroker b = broker();
        b.publish(List.of(message("p", 0, "1"), message("p", 4, "2"), message("p", 9, "3")));
        assertThat(b.purge("p")).isEqualTo(3);
        assertThat(b.queueLength("p")).isZero();
    }
}
