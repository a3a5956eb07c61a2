package io.celeriac.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ChordCounter;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Celery's canvas (chain, group, chord, link, link_error) across Celeriac and the real Celery 5 (Debian's
 * python3-celery) on one Redis. One fleet serves every test: our worker on queues "java" and "shared", a Python
 * worker on "py" and "shared"; a test picks who runs what by the queue each signature names. Tasks are
 * {@link CanvasInteropTasks} and canvas_tasks.py (same names, traces marked "java:" or "py:"); the Python side
 * sends and reads through canvas_client.py.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CanvasInteropIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final List<String> QUEUES = List.of("java", "py", "shared");

    private final ObjectMapper json = new ObjectMapper();
    private RedisClient client;
    private StatefulRedisConnection<String, String> ledgerConnection;
    private StatefulRedisConnection<String, String> resultsConnection;
    /** The broker's database, where tasks leave their traces. */
    private RedisCommands<String, String> ledger;
    /** The result backend's database. */
    private RedisCommands<String, String> results;
    private Celeriac app;
    private Worker worker;
    private Process pyWorker;
    private PythonCelery python;

    @BeforeAll
    void startFleet() throws Exception {
        client = RedisClient.create(REDIS.url(0));
        ledgerConnection = client.connect();
        ledger = ledgerConnection.sync();
        ledger.flushall();
        resultsConnection = client.connect();
        results = resultsConnection.sync();
        results.select(1);
        python = new PythonCelery(REDIS.url(0), REDIS.url(1));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1))
                        .hostname("java@canvas").build())
                .register(new CanvasInteropTasks(ledger, results)).build();
        worker = app.worker().queues("java", "shared").concurrency(4).prefetchMultiplier(1).start();
        pyWorker = python.worker("py-canvas", "py,shared", 8, "-I", "canvas_tasks");
        // Until it consumes, a shared queue would be ours alone.
        await().atMost(WAIT).until(() -> Files.readString(PythonCelery.LOGS.resolve("worker-py-canvas.err.log"))
                .contains("ready."));
    }

    /** Each test starts with an idle fleet, so what ran during it is its own. */
    @AfterEach
    void idle() {
        settle();
    }

    @AfterAll
    void stopFleet() throws Exception {
        if (worker != null) {
            worker.shutdown(Duration.ofSeconds(10));
        }
        PythonCelery.stop(pyWorker);
        if (app != null) {
            app.close();
        }
        if (client != null) {
            ledgerConnection.close();
            resultsConnection.close();
            client.shutdown();
        }
    }

    // ------------------------------------------------------------------ 1-3: Python sends, our worker runs

    @Test
    void aPythonChainRunsEntirelyOnOurWorker() throws Exception {
        Map<String, Long> before = processed();

        JsonNode seen = pythonClient("chain-on", "java");

        assertThat(seen.get("final").asInt()).isEqualTo(10);
        // Last step first, each leading to its parent as Celery's AsyncResult.parent does.
        JsonNode steps = seen.get("steps");
        assertThat(values(steps, "result")).containsExactly(10, 6, 3);
        assertThat(steps.get(0).get("parent_id").asText()).isEqualTo(steps.get(1).get("id").asText());
        assertThat(steps.get(1).get("parent_id").asText()).isEqualTo(steps.get(2).get("id").asText());
        settle();
        assertThat(ranSince(before)).containsExactlyEntriesOf(Map.of("acc.add", 3L));
    }

    @Test
    void aPythonChordRunsOnOurWorkerAndItsBodyGetsTheResultsInHeaderOrder() throws Exception {
        Map<String, Long> before = processed();

        JsonNode seen = pythonClient("chords-on", "java");

        assertThat(seen.get("total").asInt()).isEqualTo(20);
        assertThat(ints(seen.get("parts"))).containsExactly(0, 2, 4, 6, 8);
        // Its parts finished last to first; the body still sees them in header order.
        assertThat(ints(seen.get("ordered"))).containsExactly(0, 1, 2, 3, 4);
        settle();
        assertThat(ranSince(before)).containsExactlyInAnyOrderEntriesOf(
                Map.of("acc.add", 5L, "acc.tsum", 1L, "acc.echo", 5L, "acc.collect", 1L));
        assertChordForgotten(seen.get("group_id").asText());
    }

    /** On our worker as on Celery's: the callback gets the result, the (one-argument) errback the task id. */
    @ParameterizedTest(name = "task on {0}")
    @ValueSource(strings = {"java", "py"})
    void pythonLinkAndLinkErrorCallbacksArrive(String queue) throws Exception {
        String run = run();

        JsonNode seen = pythonClient("links-on", queue, run);

        assertThat(seen.get("ok").asInt()).isEqualTo(5);
        assertThat(seen.get("bad_state").asText()).isEqualTo("FAILURE");
        String okId = seen.get("ok_id").asText();
        String badId = seen.get("bad_id").asText();
        await().atMost(WAIT).until(() -> ledger.llen("acc:seen:ok-py-" + run) > 0
                && ledger.llen("acc:seen:ok-java-" + run) > 0
                && ledger.lrange("acc:errbacks", 0, -1).containsAll(List.of("py:" + badId, "java:" + badId)));
        settle();
        assertThat(ledger.lrange("acc:seen:ok-py-" + run, 0, -1)).containsExactly("[\"py\", 5]");
        assertThat(json.readTree(ledger.lrange("acc:seen:ok-java-" + run, 0, -1).get(0)))
                .isEqualTo(json.readTree("[\"java\", 5]"));
        assertThat(ledger.llen("acc:seen:ok-java-" + run)).isEqualTo(1);
        assertThat(ledger.lrange("acc:errbacks", 0, -1)).filteredOn(e -> e.endsWith(badId))
                .containsExactlyInAnyOrder("py:" + badId, "java:" + badId);
        assertThat(ledger.lrange("acc:errbacks", 0, -1)).noneMatch(e -> e.endsWith(okId));
        assertThat(ledger.exists("acc:seen:never-" + run)).as("a failed task's link").isZero();
    }

    // ------------------------------------------------------------------ 4: one chord, both fleets

    /**
     * Fifty parts on the shared queue plus a gate part on one side's own queue; the gate finishes only once the
     * other fifty are counted, so that side counts the last part and sends the body, to the other side or its own.
     */
    @ParameterizedTest(name = "sent by {0}, last part counted by {1}, body on {2}")
    @CsvSource({"python, java, py", "python, py, java", "java, java, java", "java, py, py"})
    void aChordWhosePartsRunOnBothFleetsCompletesOnce(String producer, String last, String bodyQueue)
            throws Exception {
        int n = 50;
        String run = run();
        int result;
        String groupId;
        if (producer.equals("python")) {
            JsonNode seen = pythonClient("mixed-chord", run, Integer.toString(n), last, bodyQueue);
            result = seen.get("result").asInt();
            groupId = seen.get("group_id").asText();
        } else {
            List<Canvas> header = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                header.add(sig("acc.part", "shared", run, i));
            }
            header.add(sig("acc.gate", last, run, n));
            AsyncResult body = Canvas.chord(header, sig("acc.body", bodyQueue, run)).applyAsync();
            result = (Integer) body.get(WAIT);
            groupId = ((GroupResult) body.parent().orElseThrow()).id();
        }

        assertThat(result).isEqualTo(n * (n - 1) / 2 - 1);
        settle();
        String side = bodyQueue.equals("py") ? "py" : "java";
        assertThat(ledger.lrange("acc:bodies:" + run, 0, -1)).as("body runs").containsExactly(side);
        List<String> parts = ledger.lrange("acc:parts:" + run, 0, -1);
        Map<String, Integer> perPart = new HashMap<>();
        Map<String, Integer> perSide = new HashMap<>();
        for (String p : parts) {
            String[] sideAndPart = p.split(":");
            perPart.merge(sideAndPart[1], 1, Integer::sum);
            if (!sideAndPart[1].equals("gate")) {
                perSide.merge(sideAndPart[0], 1, Integer::sum);
            }
        }
        assertThat(parts).hasSize(n + 1).contains(last + ":gate");
        assertThat(perPart).hasSize(n + 1).allSatisfy((part, count) -> assertThat(count).isEqualTo(1));
        assertThat(perSide.get("java")).as("shared parts run by our worker").isPositive();
        assertThat(perSide.get("py")).as("shared parts run by Celery's worker").isPositive();
        assertChordForgotten(groupId);
    }

    /**
     * A part whose message was redelivered (its worker killed before the ack) is recorded again: it replaces its
     * first record, and counts once, among the members Celery's workers write.
     */
    @Test
    void aPartRecordedAgainCountsOnceBesidePartsCeleryRecorded() {
        ChordCounter counter = app.backend().chords().orElseThrow();
        String group = "redelivered-" + run();
        String members = "celery-taskset-meta-" + group + ".j";
        counter.setSize(group, 3);
        // Written as Celery's RedisBackend.on_chord_part_return writes it (kombu's json.dumps).
        results.zadd(members, 1, "[1, \"py-part\", \"SUCCESS\", 20]");

        assertThat(counter.partDone(group, "java-part", 0, "SUCCESS", 10)).isEmpty();
        assertThat(counter.partDone(group, "java-part", 0, "SUCCESS", 11)).isEmpty();
        assertThat(results.zcard(members)).isEqualTo(2);
        List<ChordCounter.Part> done = counter.partDone(group, "last-part", 2, "SUCCESS", 30).orElseThrow();

        assertThat(done).extracting(ChordCounter.Part::taskId).containsExactly("java-part", "py-part", "last-part");
        assertThat(done).extracting(ChordCounter.Part::result).containsExactly(11, 20, 30);
        counter.forget(group);
        assertChordForgotten(group);
    }

    // ------------------------------------------------------------------ 5: we send, Celery's worker runs

    @Test
    void ourCanvasesRunOnAPythonWorker() {
        Map<String, Long> before = processed();
        String run = run();

        AsyncResult chain = Canvas.chain(add("py", 1, 2), add("py", 3), add("py", 4)).applyAsync();
        GroupResult group = Canvas.group(range(10, i -> add("py", i, i))).applyAsync();
        AsyncResult chord = Canvas.chord(range(5, i -> add("py", i, i)), sig("acc.tsum", "py")).applyAsync();
        AsyncResult ordered = Canvas.chord(range(5, i -> sig("acc.echo", "py", i, (4 - i) * 0.15)),
                sig("acc.collect", "py")).applyAsync();
        AsyncResult linked = add("py", 2, 3).link(sig("acc.record", "py", "jlink-" + run))
                .linkError(sig("acc.errback", "py")).applyAsync();
        AsyncResult failed = sig("acc.boom", "py", "linked").link(sig("acc.record", "py", "never-" + run))
                .linkError(sig("acc.errback", "py")).applyAsync();

        assertThat(chain.get(WAIT)).isEqualTo(10);
        AsyncResult second = (AsyncResult) chain.parent().orElseThrow();
        assertThat(second.get(WAIT)).isEqualTo(6);
        assertThat(((AsyncResult) second.parent().orElseThrow()).get(WAIT)).isEqualTo(3);
        assertThat(chain.document().orElseThrow().parentId()).isEqualTo(second.id());

        assertThat(group.join(WAIT)).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18);
        // Celery's worker read the group header: it stored the group id with each member's result.
        assertThat(group.results()).allSatisfy(r -> assertThat(rawResult(r.id()).get("group_id").asText())
                .isEqualTo(group.id()));

        assertThat(chord.get(WAIT)).isEqualTo(20);
        assertThat(((GroupResult) chord.parent().orElseThrow()).join(WAIT)).containsExactly(0, 2, 4, 6, 8);
        assertThat(ordered.get(WAIT)).isEqualTo(List.of(0, 1, 2, 3, 4));

        assertThat(linked.get(WAIT)).isEqualTo(5);
        assertThatThrownBy(() -> failed.get(WAIT)).isInstanceOfSatisfying(TaskFailedException.class,
                e -> assertThat(e.excType()).isEqualTo("ValueError"));
        await().atMost(WAIT).until(() -> ledger.llen("acc:seen:jlink-" + run) > 0
                && ledger.lrange("acc:errbacks", 0, -1).contains("py:" + failed.id()));
        settle();
        assertThat(ledger.lrange("acc:seen:jlink-" + run, 0, -1)).containsExactly("[\"py\", 5]");
        assertThat(ledger.lrange("acc:errbacks", 0, -1)).filteredOn(e -> e.endsWith(failed.id()))
                .containsExactly("py:" + failed.id());
        assertThat(ledger.lrange("acc:errbacks", 0, -1)).noneMatch(e -> e.endsWith(linked.id()));
        assertThat(ledger.exists("acc:seen:never-" + run)).isZero();
        assertThat(ranSince(before)).as("tasks our worker ran").isEmpty();
    }

    // ------------------------------------------------------------------ 6: a chain through both

    @Test
    void aChainAlternatesBetweenPythonAndJavaTasks() throws Exception {
        List<String> expected = List.of("py:a", "java:b", "py:c", "java:d", "py:e");

        JsonNode seen = pythonClient("alternating-chain");
        assertThat(json.convertValue(seen.get("final"), List.class)).isEqualTo(expected);
        // Every step's own result, last first: each side added its mark to what the other passed on.
        JsonNode steps = seen.get("steps");
        for (int i = 0; i < expected.size(); i++) {
            assertThat(json.convertValue(steps.get(i), List.class))
                    .isEqualTo(expected.subList(0, expected.size() - i));
        }

        AsyncResult ours = Canvas.chain(
                sig("acc.py_append", "py", List.of(), "a"), sig("acc.java_append", "java", "b"),
                sig("acc.py_append", "py", "c"), sig("acc.java_append", "java", "d"),
                sig("acc.py_append", "py", "e")).applyAsync();
        assertThat(ours.get(WAIT)).isEqualTo(expected);
    }

    // ------------------------------------------------------------------ 7: failures as Celery records them

    @Test
    void aFailingChordPartOrChainStepIsRecordedAsCeleryRecordsIt() throws Exception {
        String run = run();

        JsonNode seen = pythonClient("failures", run);

        JsonNode ours = seen.get("chord_java");
        JsonNode celery = seen.get("chord_py");
        Pattern dependency = Pattern.compile("Dependency (\\S+) raised (\\w+)\\('boom part failed'\\)");
        for (JsonNode side : List.of(ours, celery)) {
            JsonNode body = side.get("body");
            assertThat(body.get("state").asText()).isEqualTo("FAILURE");
            assertThat(body.get("exc_class").asText()).isEqualTo("ChordError");
            assertThat(body.get("exc_class_module").asText()).isEqualTo("celery.exceptions");
            assertThat(body.at("/raw/result/exc_type").asText()).isEqualTo("ChordError");
            assertThat(body.at("/raw/result/exc_module").asText()).isEqualTo("celery.exceptions");
            Matcher m = dependency.matcher(body.get("exc_str").asText());
            assertThat(m.matches()).as(body.get("exc_str").asText()).isTrue();
            assertThat(m.group(1)).isEqualTo(side.get("failed_part").asText());
            // The exception named is the failed part's, as stored.
            assertThat(m.group(2)).isEqualTo(side.at("/parts/1/raw/result/exc_type").asText());
            assertThat(values(side.get("parts"), "state")).containsExactly("SUCCESS", "FAILURE", "SUCCESS");
        }
        assertThat(celery.at("/parts/1/raw/result/exc_type").asText()).isEqualTo("ValueError");
        assertThat(ours.at("/parts/1/raw/result/exc_type").asText()).isEqualTo("IllegalArgumentException");
        // Same document shape: the message as Celery's one-element exc_message list.
        assertThat(ours.at("/body/raw/result/exc_message").isArray()).isTrue();
        assertThat(ours.at("/body/raw/result/exc_message").size())
                .isEqualTo(celery.at("/body/raw/result/exc_message").size());
        assertThat(fieldNames(ours.at("/body/raw/result"))).isEqualTo(fieldNames(celery.at("/body/raw/result")));
        assertThat(fieldNames(ours.at("/body/raw"))).isEqualTo(fieldNames(celery.at("/body/raw")));
        settle();
        assertThat(ledger.exists("acc:bodies:" + run + "-java", "acc:bodies:" + run + "-py")).as("bodies run")
                .isZero();

        // A chain whose second step fails: the steps after it are FAILURE with that step's exception, as Celery.
        for (String queue : List.of("java", "py")) {
            JsonNode steps = seen.get("chain_" + queue);
            assertThat(values(steps, "state")).as(queue).containsExactly("SUCCESS", "FAILURE", "FAILURE", "FAILURE");
            assertThat(steps.get(0).get("result").asInt()).isEqualTo(3);
            for (int i = 1; i < 4; i++) {
                assertThat(steps.get(i).get("exc_str").asText()).as(queue + " step " + i).isEqualTo("boom 3");
                assertThat(steps.get(i).at("/raw/result/exc_type"))
                        .isEqualTo(steps.get(1).at("/raw/result/exc_type"));
                assertThat(fieldNames(steps.get(i).at("/raw/result")))
                        .isEqualTo(fieldNames(seen.at("/chain_py/1/raw/result")));
            }
            for (int i = 2; i < 4; i++) {
                // Marked by the worker that ran the failed step, with no parent id, as Celery does.
                assertThat(fieldNames(steps.get(i).get("raw"))).as(queue + " step " + i)
                        .isEqualTo(fieldNames(seen.at("/chain_py/" + i + "/raw")));
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private JsonNode pythonClient(String... args) throws Exception {
        return json.readTree(python.script("canvas_client.py", args));
    }

    private Signature sig(String task, String queue, Object... args) {
        return app.signature(task, List.of(args), Map.of(), SendOptions.builder().queue(queue).build());
    }

    private Signature add(String queue, Object... args) {
        return sig("acc.add", queue, args);
    }

    private static List<Canvas> range(int n, java.util.function.IntFunction<Canvas> member) {
        List<Canvas> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(member.apply(i));
        }
        return out;
    }

    /**
     * Waits until both fleets have been idle for a while: nothing queued, nothing reserved (both keep reserved
     * messages in kombu's unacked hash until acked; the Python worker acks late) and nothing running on ours. Follow-up
     * messages are sent before a task's ack, so after this no execution is still to come, and counts are final.
     */
    private void settle() {
        await().during(Duration.ofMillis(500)).atMost(WAIT).until(() -> {
            long queued = 0;
            for (String q : QUEUES) {
                queued += ledger.llen(q);
                for (String p : List.of("3", "6", "9")) {
                    queued += ledger.llen(q + "\u0006\u0016" + p); // kombu's priority lists
                }
            }
            return queued == 0 && ledger.hlen("unacked") == 0 && worker.inFlight() == 0;
        });
    }

    private static String run() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    private JsonNode rawResult(String taskId) {
        try {
            return json.readTree(results.get("celery-task-meta-" + taskId));
        } catch (Exception e) {
            throw new AssertionError("no readable result for " + taskId, e);
        }
    }

    /**
     * No key of the chord is left once its body was sent, whichever side sent it (Celery's on_chord_part_return
     * deletes its three keys, and only those).
     */
    private void assertChordForgotten(String groupId) {
        assertThat(results.keys("celery-taskset-meta-" + groupId + "*")).as("chord keys of " + groupId).isEmpty();
    }

    private Map<String, Long> processed() {
        return new HashMap<>(worker.processed());
    }

    /** Tasks our worker ran since {@code before}, by name. */
    private Map<String, Long> ranSince(Map<String, Long> before) {
        Map<String, Long> out = new HashMap<>();
        worker.processed().forEach((task, count) -> {
            long d = count - before.getOrDefault(task, 0L);
            if (d != 0) {
                out.put(task, d);
            }
        });
        return out;
    }

    private static List<Object> values(JsonNode array, String field) {
        List<Object> out = new ArrayList<>();
        for (JsonNode n : array) {
            JsonNode v = n.get(field);
            out.add(v.isInt() ? (Object) v.asInt() : v.asText());
        }
        return out;
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        out.sort(null);
        return out;
    }
}
