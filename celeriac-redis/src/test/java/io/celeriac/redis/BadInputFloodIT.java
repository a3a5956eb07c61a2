package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.redis.testing.WorkerMain;
import io.celeriac.task.AsyncResult;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A flood of bad and large messages against a worker in its own JVM with a small heap: every bad message ends in the
 * dead-letter queue with its reason, every good task interleaved with them runs, and the worker neither dies nor
 * runs out of memory (its heap is capped at 128 MiB, so memory that grows with the number of messages would
 * fail the run with an OutOfMemoryError).
 */
class BadInputFloodIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final int ROUNDS = 300;
    private static final int LARGE = 40;
    private static final int LARGE_BYTES = 2 * 1024 * 1024;

    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);

    private byte[] envelope(String task, String id, List<?> args) {
        TaskMessage m = TaskMessage.builder(task, id).args(args).kwargs(Map.of()).routingKey("celery")
                .deliveryTag(UUID.randomUUID().toString()).build();
        return kombu.encode(codec.encode(m)).getBytes(StandardCharsets.UTF_8);
    }

    /** A kombu envelope around a body given as raw bytes (base64-encoded as kombu does). */
    private static byte[] envelopeWithBody(byte[] body) {
        return envelopeWithBody(UUID.randomUUID().toString(), body);
    }

    private static byte[] envelopeWithBody(String id, byte[] body) {
        String json = "{\"body\": \"" + Base64.getEncoder().encodeToString(body) + "\", \"content-encoding\": "
                + "\"utf-8\", \"content-type\": \"application/json\", \"headers\": {\"lang\": \"py\", \"task\": "
                + "\"slow.work\", \"id\": \"" + id + "\"}, \"properties\": {\"delivery_tag\": \""
                + UUID.randomUUID() + "\", \"body_encoding\": \"base64\", \"delivery_info\": {\"exchange\": \"\", "
                + "\"routing_key\": \"celery\"}}}";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    /** Ten kinds of bad input; each is dead-lettered, none may run. */
    private List<byte[]> badRound(int i) {
        List<byte[]> out = new ArrayList<>();
        out.add(("not json " + i).getBytes(StandardCharsets.UTF_8));
        out.add("{\"body\": \"e30=\", \"properties\": {}}".getBytes(StandardCharsets.UTF_8));
        out.add("[1, 2, 3]".getBytes(StandardCharsets.UTF_8));
        out.add(envelope("no.such.task", "unknown-" + i, List.of(i)));
        out.add(envelopeWithBody("[[1, 2], {}, {}".getBytes(StandardCharsets.UTF_8)));
        out.add(envelopeWithBody("{\"task\": \"slow.work\", \"id\": \"v1\", \"args\": []}"
                .getBytes(StandardCharsets.UTF_8)));
        out.add(envelopeWithBody("[[\"x\", 1], {}, {}]".getBytes(StandardCharsets.UTF_8)));
        // Invalid UTF-8 where a lenient decoder would let the task run: in the body (0xFF is never UTF-8) and in
        // the raw envelope (0xC3 0x28 is not a sequence). Both must be refused, never run with altered text.
        byte[] body = "[[1, 0], {}, {\"x\u00ff\": null}]".getBytes(StandardCharsets.ISO_8859_1);
        out.add(envelopeWithBody("body-utf8-" + i, body));
        byte[] raw = envelope("slow.work", "raw-utf8-" + i, List.of(i, 0));
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("\"lang\"");
        raw[at + 1] = (byte) 0xC3;
        raw[at + 2] = (byte) 0x28;
        out.add(raw);
        out.add(envelopeWithBody(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x01}));
        return out;
    }

    @Test
    void aFloodOfBadAndLargeMessagesIsDeadLetteredAndTheWorkerStaysUpInBoundedMemory() throws Exception {
        RedisClient raw = RedisClient.create(REDIS.url(0));
        Path log = Files.createTempFile("flood-worker", ".log");
        Process worker = null;
        try (StatefulRedisConnection<byte[], byte[]> bytes = raw.connect(ByteArrayCodec.INSTANCE);
             Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                     .resultBackend(REDIS.url(1)).build()).build()) {
            byte[] queue = "celery".getBytes(StandardCharsets.US_ASCII);
            worker = new ProcessBuilder(javaBin(), "-Xmx128m", "-XX:+ExitOnOutOfMemoryError", "-cp",
                    System.getProperty("java.class.path"), WorkerMain.class.getName(), REDIS.url(0), REDIS.url(1),
                    "2").redirectErrorStream(true).redirectOutput(log.toFile()).start();

            List<String> good = new ArrayList<>();
            long bad = 0;
            String large = "x".repeat(LARGE_BYTES);
            for (int i = 0; i < ROUNDS; i++) {
                List<byte[]> round = badRound(i);
                bad += round.size();
                String id = "good-" + i;
                good.add(id);
                round.add(envelope("slow.work", id, List.of(i, 0)));
                if (i % (ROUNDS / LARGE) == 0) {
                    // Large but acceptable: a task whose first argument is 2 MiB of text (it fails: not an int).
                    round.add(envelope("slow.work", "large-" + i, List.of(large, 0)));
                    bad++;
                }
                bytes.sync().lpush(queue, round.toArray(byte[][]::new));
            }

            DeadLetterQueue deadLetters = app.broker().deadLetterQueue().orElseThrow();
            Process w = worker;
            long expectedBad = bad;
            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                assertThat(w.isAlive()).as("worker alive; its log: %s", log).isTrue();
                assertThat(app.broker().queueLength("celery")).isZero();
                assertThat(deadLetters.count()).isEqualTo(expectedBad);
            });
            for (int i = 0; i < good.size(); i++) {
                AsyncResult r = app.result(good.get(i));
                assertThat(r.get(Duration.ofSeconds(60))).isEqualTo(i);
            }
            Map<String, Integer> reasons = new HashMap<>();
            for (DeadLetter d : deadLetters.list((int) expectedBad)) {
                reasons.merge(d.reason().replaceAll("[0-9a-f-]{36}|\\d+", "#"), 1, Integer::sum);
            }
            // Nothing bad ever ran: no result for the unknown tasks.
            for (String id : List.of("unknown-0", "body-utf8-0", "raw-utf8-0", "body-utf8-" + (ROUNDS - 1))) {
                assertThat(app.result(id).state()).as("%s never ran", id).isEqualTo("PENDING");
            }
            System.out.printf("flood: %d bad messages dead-lettered, %d good tasks ran; worker RSS %s; reasons %s%n",
                    expectedBad, good.size(), rss(worker.pid()), reasons);
            assertThat(worker.isAlive()).isTrue();
        } finally {
            if (worker != null) {
                worker.destroyForcibly();
                worker.waitFor(10, TimeUnit.SECONDS);
            }
            raw.shutdown();
        }
    }

    private static String rss(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("VmRSS")).map(l -> l.replaceAll("\\s+", " ").substring(7)).findFirst()
                    .orElse("?");
        } catch (Exception e) {
            return "?";
        }
    }

    private static String javaBin() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
