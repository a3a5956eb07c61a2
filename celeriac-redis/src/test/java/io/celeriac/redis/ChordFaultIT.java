package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.redis.testing.FleetWorkerMain;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A 1,000-part chord on three acks-late worker processes, one of which is SIGKILLed three times while the header
 * runs (a new JVM takes its place). Killed parts are redelivered and run again; each must count once, so the body
 * runs once, when the last part is stored, with all 1,000 results in header order. Runs are read from the workers'
 * own run logs, not from the backend under test.
 */
class ChordFaultIT {
    private static final int PARTS = 1000;
    private static final int KILLS = 3;

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private Path dir;

    @Test
    void aChordCompletesOnceWithEveryPartAfterWorkersAreKilledMidHeader() throws Exception {
        dir = Files.createDirectories(Path.of("target", "chord-fault"));
        try (Stream<Path> old = Files.list(dir)) {
            for (Path p : (Iterable<Path>) old::iterator) {
                Files.delete(p);
            }
        }
        long seed = Long.getLong("chord.seed", System.nanoTime());
        System.out.println("chord fault seed " + seed);
        Random random = new Random(seed);
        Map<Integer, Process> workers = new HashMap<>();
        int[] started = {0};
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).build()).build()) {
            List<Canvas> header = new ArrayList<>();
            for (int i = 0; i < PARTS; i++) {
                header.add(app.signature("fleet.part", i, 30 + random.nextInt(60)));
            }
            AsyncResult body = Canvas.chord(header, app.signature("fleet.collect")).applyAsync();
            GroupResult parts = (GroupResult) body.parent().orElseThrow();
            int[] numberOf = new int[3];
            for (int slot = 0; slot < 3; slot++) {
                numberOf[slot] = ++started[0];
                workers.put(slot, start(dir, numberOf[slot]));
            }
            int lastFinished = 0;
            for (int k = 0; k < KILLS; k++) {
                // Each kill waits for progress since the last one and hits a worker that is running parts, so it
                // cuts runs short; kills stop well before the header's end, so the chord is completed by a part
                // that ran after them, and would complete early if a redelivered part counted twice.
                int since = lastFinished;
                await().atMost(Duration.ofSeconds(60)).until(() -> finished() >= since + 50);
                Thread.sleep(random.nextInt(500));
                if (finished() > PARTS * 6 / 10) {
                    break;
                }
                int slot = -1;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (slot < 0 && System.nanoTime() < deadline) {
                    int candidate = random.nextInt(3);
                    if (inFlight(dir, numberOf[candidate]) > 0) {
                        slot = candidate;
                    }
                }
                assertThat(slot).as("a worker running parts").isNotNegative();
                Process victim = workers.get(slot);
                victim.destroyForcibly();
                assertThat(victim.waitFor(10, TimeUnit.SECONDS)).isTrue();
                lastFinished = finished();
                System.out.println("SIGKILL worker in slot " + slot + " (pid " + victim.pid() + ") with "
                        + lastFinished + " parts done");
                numberOf[slot] = ++started[0];
                workers.put(slot, start(dir, numberOf[slot]));
            }

            assertThat(body.get(Duration.ofSeconds(240))).isEqualTo(PARTS);
            assertThat(parts.join(Duration.ofSeconds(30))).hasSize(PARTS);

            // Independently of the backend: every part ran to its end, and the body ran once with every result.
            // A second run of the body, if the chord completed twice, would follow within moments: none may appear.
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(15))
                    .until(() -> bodies(dir).size() == 1);
            List<String> bodies = bodies(dir);
            assertThat(bodies).as("body runs").hasSize(1);
            assertThat(bodies.get(0)).isEqualTo(body.id() + ":" + PARTS + ":true");
            List<String> ends = lines(dir, "end ");
            List<String> starts = lines(dir, "start ");
            assertThat(ends.stream().map(l -> l.split(" ")[1]).distinct().count()).isEqualTo(PARTS);
            int kills = started[0] - 3;
            assertThat(kills).as("kills while the header ran").isGreaterThanOrEqualTo(1);
            // A killed worker was running parts (four pool threads, acks late): they started and never ended there,
            // and ran again elsewhere.
            assertThat(starts.size()).as("part runs started").isGreaterThan(ends.size());
            System.out.println("chord fault: " + PARTS + " parts, " + starts.size() + " part runs started, "
                    + ends.size() + " ended (" + (starts.size() - ends.size()) + " cut by " + kills
                    + " kills and run again), body once");
            // No part failed to be counted (each worker logs it if one does).
            try (Stream<Path> outs = Files.list(dir)) {
                for (Path out : (Iterable<Path>) outs.filter(p -> p.toString().endsWith(".out"))::iterator) {
                    assertThat(Files.readString(out)).as(out.toString())
                            .doesNotContain("Could not count the chord part");
                }
            }
            // The chord's keys are gone once its body was sent.
            try (RedisClient client = RedisClient.create(REDIS.url(1));
                 StatefulRedisConnection<String, String> c = client.connect()) {
                assertThat(c.sync().keys(RedisChords.PREFIX + parts.id() + "*")).isEmpty();
            }
        } finally {
            for (Process p : workers.values()) {
                p.destroyForcibly();
            }
        }
    }

    private static Process start(Path dir, int n) throws IOException {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        return new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), FleetWorkerMain.class.getName(), REDIS.url(0),
                REDIS.url(1), "4", "chord-" + n + "@%h", dir.resolve("worker-" + n + ".log").toString(), "1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("worker-" + n + ".out").toFile()).start();
    }

    /** Part runs that ended, per the run logs (cheaper than asking the backend about 1,000 results). */
    private int finished() throws IOException {
        return lines(dir, "end ").size();
    }

    /** Parts worker {@code n} started and has not ended (per its run log). */
    private static long inFlight(Path dir, int n) throws IOException {
        Path log = dir.resolve("worker-" + n + ".log");
        if (!Files.exists(log)) {
            return 0;
        }
        List<String> lines = Files.readAllLines(log);
        return lines.stream().filter(l -> l.startsWith("start ")).count()
                - lines.stream().filter(l -> l.startsWith("end ")).count();
    }

    private static List<String> bodies(Path dir) throws IOException {
        return lines(dir, "body ").stream().map(l -> l.split(" ")[1]).toList();
    }

    private static List<String> lines(Path dir, String prefix) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".log"))::iterator) {
                for (String l : Files.readAllLines(f)) {
                    if (l.startsWith(prefix)) {
                        out.add(l);
                    }
                }
            }
        }
        return out;
    }
}
