package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Broker;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Messages whose bytes are not UTF-8, written raw as a foreign producer could: never delivered (a String codec would
 * have replaced the bytes with U+FFFD and the task would run on altered text), dead-lettered with the byte offset,
 * and kept byte for byte so that a requeue puts back exactly what was sent.
 */
class RedisInvalidUtf8IT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);
    private final List<RedisBroker> brokers = new ArrayList<>();
    private RedisClient client;
    private StatefulRedisConnection<byte[], byte[]> raw;
    private RedisCommands<byte[], byte[]> bytes;
    private StatefulRedisConnection<String, String> text;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        raw = client.connect(ByteArrayCodec.INSTANCE);
        bytes = raw.sync();
        text = client.connect();
        bytes.flushall();
    }

    @AfterEach
    void tearDown() {
        brokers.forEach(RedisBroker::close);
        raw.close();
        text.close();
        client.shutdown();
    }

    private RedisBroker broker() {
        RedisBroker b = new RedisBroker(RedisUrl.parse(REDIS.url(0)), CeleriacConfig.defaults(), codec,
                Clock.systemUTC());
        brokers.add(b);
        return b;
    }

    private BrokerMessage message(String task, String id, String queue) {
        return codec.encode(TaskMessage.builder(task, id).args(List.of(1, 2)).routingKey(queue)
                .deliveryTag(UUID.randomUUID().toString()).build());
    }

    private String envelope(String task, String id, String queue) {
        return kombu.encode(message(task, id, queue));
    }

    private static DeadLetterQueue deadLetters(Broker broker) {
        return broker.deadLetterQueue().orElseThrow();
    }

    /** A kombu envelope that parses as JSON but holds byte 0xFF (never valid in UTF-8) in a header. */
    private static byte[] withStrayByte(String envelope) {
        String marked = envelope.replaceFirst("\"headers\":\\s*\\{", "\"headers\": {\"x-note\": \"caf@\", ");
        assertThat(marked).as("the envelope has a headers object to mark").contains("caf@");
        byte[] b = marked.getBytes(StandardCharsets.UTF_8);
        b[indexOf(b, (byte) '@')] = (byte) 0xFF;
        return b;
    }

    private static int indexOf(byte[] b, byte x) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aMessageThatIsNotUtf8IsDeadLetteredWithItsOffsetAndItsBytesAndNeverDelivered() throws Exception {
        RedisBroker b = broker();
        byte[] bad = withStrayByte(envelope("t.add", "bad-1", "q"));
        int offset = indexOf(bad, (byte) 0xFF);
        bytes.lpush(utf8("q"), bad);
        b.publish(List.of(new OutboundMessage("q", 0, message("t.add", "good-1", "q"), "good-1", null)));

        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));

        assertThat(got).extracting(d -> codec.decode(d.message()).id()).containsExactly("good-1");
        List<DeadLetter> dead = deadLetters(b).list(10);
        assertThat(dead).singleElement().satisfies(d -> {
            assertThat(d.queue()).isEqualTo("q");
            assertThat(d.reason()).contains("invalid UTF-8 at byte offset " + offset + " of " + bad.length);
        });
        // The record is text; the message inside it is the exact bytes, base64-encoded and flagged as such.
        Map<String, Object> record = codec.readJsonObject(text.sync().lindex("celeriac.dead_letter", 0));
        assertThat(record).containsEntry("payload_encoding", "base64");
        assertThat(Base64.getDecoder().decode((String) record.get("payload"))).isEqualTo(bad);
        // Its reservation was undone with it: only the good message is unacked.
        assertThat(b.unackedCount()).isEqualTo(1);
        b.ack(got);
        assertThat(b.unackedCount()).isZero();
        assertThat(bytes.zcard(utf8("unacked_index"))).isZero();
        assertThat(bytes.scard(utf8("celeriac.unacked." + b.consumerId()))).isZero();

        // A requeue puts back what was sent, byte for byte.
        assertThat(deadLetters(b).requeue(dead.get(0).id())).isTrue();
        assertThat(bytes.lrange(utf8("q"), 0, -1)).singleElement().isEqualTo(bad);
    }

    @Test
    void textThatIsValidUtf8IsDeliveredUnchanged() throws Exception {
        RedisBroker b = broker();
        String payload = envelope("t.add", "good-2", "q")
                .replaceFirst("\"headers\":\\s*\\{", "\"headers\": {\"x-note\": \"café ✓ \uD83D\uDE00\", ");
        bytes.lpush(utf8("q"), utf8(payload));

        List<Delivery> got = b.reserve(List.of("q"), 10, Duration.ofSeconds(1));

        assertThat(got).singleElement().satisfies(d -> {
            assertThat(((RedisDelivery) d).raw()).isEqualTo(payload);
            assertThat(d.message().headers()).containsEntry("x-note", "café ✓ \uD83D\uDE00");
        });
        assertThat(deadLetters(b).list(10)).isEmpty();
    }

    @Test
    void aMalformedMessageWithBytesThatAreNotUtf8IsKeptByteForByte() throws Exception {
        RedisBroker b = broker();
        byte[] garbage = {'n', 'o', 't', ' ', 'j', 's', 'o', 'n', ' ', (byte) 0xFF, (byte) 0xFE, 0x00, (byte) 0xC3};
        bytes.lpush(utf8("q"), garbage);

        assertThat(b.reserve(List.of("q"), 10, Duration.ofMillis(200))).isEmpty();

        assertThat(deadLetters(b).list(10)).singleElement()
                .satisfies(d -> assertThat(d.reason()).contains("malformed"));
        Map<String, Object> record = codec.readJsonObject(text.sync().lindex("celeriac.dead_letter", 0));
        assertThat(record).containsEntry("payload_encoding", "base64");
        assertThat(Base64.getDecoder().decode((String) record.get("payload"))).isEqualTo(garbage);
        assertThat(deadLetters(b).requeue(deadLetters(b).list(1).get(0).id())).isTrue();
        assertThat(bytes.lrange(utf8("q"), 0, -1)).singleElement().isEqualTo(garbage);
    }

    @Test
    void aWorkerNeverRunsTheTaskOfAMessageThatIsNotUtf8() {
        TestTasks.reset();
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).hostname("utf8@test").build()).register(new TestTasks()).build()) {
            bytes.lpush(utf8("celery"), withStrayByte(envelope("t.add", "bad-2", "celery")));
            Worker worker = app.worker().concurrency(2).start();
            try {
                assertThat(app.task("t.add").delay(20, 22).get(Duration.ofSeconds(30))).isEqualTo(42);
                await().atMost(Duration.ofSeconds(30)).until(() -> deadLetters(app.broker()).count() == 1);
                // Only the good message ran; the other was not decoded into something it never said.
                assertThat(TestTasks.CALLS.get("t.add").get()).isEqualTo(1);
                assertThat(deadLetters(app.broker()).list(1).get(0).reason()).contains("invalid UTF-8 at byte offset");
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
            }
        }
    }
}
