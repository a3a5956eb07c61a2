package io.celeriac.canvas;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.broker.DeadLetter;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.backend.TaskState;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Chains, groups, chords and callbacks through a real worker on the in-memory broker and backend. */
class CanvasWorkerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private InMemoryBroker broker;
    private InMemoryResultBackend backend;
    private Celeriac app;
    private Worker worker;

    @BeforeEach
    void setUp() {
        CanvasTasks.reset();
        broker = new InMemoryBroker();
        backend = new InMemoryResultBackend();
        app = Celeriac.builder().config(CeleriacConfig.builder().hostname("canvas@local").build()).broker(broker)
                .resultBackend(backend).register(new CanvasTasks()).build();
    }

    @AfterEach
    void tearDown() {
        if (worker != null) {
            worker.shutdownNow();
        }
        broker.close();
    }

    private Signature add(Object... args) {
        return app.signature("c.add", args);
    }

    @Test
    void aChainPassesEachResultOnAndItsResultLeadsBackToTheFirstStep() {
        worker = app.worker().concurrency(2).start();
        AsyncResult last = Canvas.chain(add(1, 2), add(3), add(4)).applyAsync();
        assertThat(last.get(WAIT)).isEqualTo(10);
        AsyncResult second = (AsyncResult) last.parent().orElseThrow();
        AsyncResult first = (AsyncResult) second.parent().orElseThrow();
        assertThat(second.get(WAIT)).isEqualTo(6);
        assertThat(first.get(WAIT)).isEqualTo(3);
        assertThat(first.parent()).isEmpty();
        // Celery's children: each step's result names the step it sent.
        assertThat(first.children()).singleElement().satisfies(c -> assertThat(((AsyncResult) c).id())
                .isEqualTo(second.id()));
        assertThat(last.children()).isEmpty();
        // Steps after the first know their parent and root as Celery records them.
        assertThat(last.document().orElseThrow().parentId()).isEqualTo(second.id());
    }

    /** As Celery: a task that returns None passes None on, to its next chain step and to its callbacks. */
    @Test
    void theStepAndCallbackAfterATaskThatReturnsNothingGetNone() {
        worker = app.worker().concurrency(2).start();
        AsyncResult last = Canvas.chain(app.signature("c.nothing").link(app.signature("c.record", "linked")),
                app.signature("c.record", "chained")).applyAsync();
        assertThat(last.get(WAIT)).isEqualTo("chained");
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("linked"));
        assertThat(CanvasTasks.SEEN.get("chained")).containsExactly((Object) null);
        assertThat(CanvasTasks.SEEN.get("linked")).containsExactly((Object) null);
    }

    @Test
    void thenIsChainAndImmutableStepsIgnoreThePreviousResult() {
        worker = app.worker().start();
        AsyncResult r = add(1, 2).then(add(10, 20).si()).then(add(5)).applyAsync();
        assertThat(r.get(WAIT)).isEqualTo(35);
    }

    @Test
    void aGroupRunsEveryMemberAndJoinsInOrder() {
        worker = app.worker().concurrency(4).start();
        List<Canvas> members = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            members.add(add(i, i));
        }
        GroupResult g = Canvas.group(members).applyAsync();
        assertThat(g.join(WAIT)).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18);
        assertThat(g.ready()).isTrue();
        assertThat(g.successful()).isTrue();
        assertThat(g.completedCount()).isEqualTo(10);
        // Each member's result names its group, as Celery's does.
        assertThat(g.results()).allSatisfy(r -> assertThat(backend.get(r.id()).orElseThrow().extra())
                .containsEntry("group_id", g.id()));
    }

    @Test
    void aChordSendsTheBodyOnceWithTheResultsInHeaderOrder() {
        worker = app.worker().concurrency(4).start();
        List<Canvas> header = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            header.add(add(i, 100));
        }
        AsyncResult body = Canvas.chord(header, app.signature("c.collect")).applyAsync();
        List<Object> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add(i + 100);
        }
        assertThat(body.get(WAIT)).isEqualTo(expected);
        assertThat(body.parent().orElseThrow()).isInstanceOf(GroupResult.class);
        // The chord's records are deleted once the body was sent, and it ran once.
        await().atMost(WAIT).until(() -> worker.processed().getOrDefault("c.collect", 0L) == 1L);
        assertThat(backend.chords().orElseThrow().partDone("x", "y", 0, "SUCCESS", 1)).isEmpty();
    }

    @Test
    void aFailedChordPartFailsTheBodyWithCeleryChordErrorAndCallsItsErrback() {
        worker = app.worker().concurrency(2).start();
        Signature body = app.signature("c.tsum").linkError(app.signature("c.record", "chord-errback"));
        AsyncResult r = Canvas.chord(List.of(add(1, 1), app.signature("c.boom", 7), add(2, 2)), body)
                .applyAsync();
        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("ChordError")
                .hasMessageContaining("raised IllegalStateException('boom 7')");
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("chord-errback"));
        assertThat(CanvasTasks.SEEN.get("chord-errback")).containsExactly(r.id());
        assertThat(worker.processed()).doesNotContainKey("c.tsum");
    }

    @Test
    void linkAndLinkErrorCallTheirSignaturesWithTheResultOrTheTaskId() {
        worker = app.worker().concurrency(2).start();
        AsyncResult ok = add(2, 3).link(app.signature("c.record", "ok")).applyAsync();
        AsyncResult bad = app.signature("c.boom", 1).link(app.signature("c.record", "never"))
                .linkError(app.signature("c.record", "err")).applyAsync();
        assertThat(ok.get(WAIT)).isEqualTo(5);
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("ok") && CanvasTasks.SEEN.containsKey("err"));
        assertThat(CanvasTasks.SEEN.get("ok")).containsExactly(5);
        assertThat(CanvasTasks.SEEN.get("err")).containsExactly(bad.id());
        assertThat(CanvasTasks.SEEN).doesNotContainKey("never");
    }

    @Test
    void aFailingStepMarksTheRestOfTheChainFailed() {
        worker = app.worker().start();
        AsyncResult last = Canvas.chain(add(1, 2), app.signature("c.boom"), add(1), add(2)).applyAsync();
        assertThatThrownBy(() -> last.get(WAIT)).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("boom 3");
        AsyncResult third = (AsyncResult) last.parent().orElseThrow();
        assertThat(third.state()).isEqualTo(TaskState.FAILURE);
        assertThat(worker.processed()).containsEntry("c.add", 1L);
    }

    @Test
    void aGroupFollowedByAStepInAChainBecomesAChord() {
        worker = app.worker().concurrency(4).start();
        AsyncResult r = Canvas.chain(add(1, 1), Canvas.group(add(10), add(20)), app.signature("c.tsum"), add(1000))
                .applyAsync();
        assertThat(r.get(WAIT)).isEqualTo(1034);
    }

    @Test
    void chordBodiesCallbacksAndChainStepsMayThemselvesBeCanvases() {
        worker = app.worker().concurrency(4).start();
        // A chord whose body is a chain, inside a chain; a callback that is a group.
        AsyncResult r = Canvas.chain(
                Canvas.chord(List.of(add(1, 2), add(3, 4)), Canvas.chain(app.signature("c.tsum"), add(100))),
                add(1000)).applyAsync();
        assertThat(r.get(WAIT)).isEqualTo(1110);
        add(1, 1).link(Canvas.group(app.signature("c.record", "g1"), app.signature("c.record", "g2")))
                .applyAsync().get(WAIT);
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("g1") && CanvasTasks.SEEN.containsKey("g2"));
        // A chord in a chord's header: its body counts as the part.
        AsyncResult nested = Canvas.chord(List.of(Canvas.chord(List.of(add(1, 1), add(2, 2)),
                app.signature("c.tsum")), add(10, 10)), app.signature("c.collect")).applyAsync();
        assertThat(nested.get(WAIT)).isEqualTo(List.of(6, 20));
    }

    @Test
    void aChordWithAnEmptyHeaderSendsItsBodyAnEmptyList() {
        worker = app.worker().start();
        assertThat(Canvas.chord(List.of(), app.signature("c.tsum")).applyAsync().get(WAIT)).isEqualTo(0);
    }

    @Test
    void aMessageWhoseWorkflowCannotBeHonouredIsDeadLetteredWithTheReason() {
        worker = app.worker().start();
        TaskMessage m = app.buildMessage("c.add", List.of(1, 2), Map.of(), SendOptions.none()).toBuilder()
                .callbacks(List.of(42)).build();
        broker.publish(new OutboundMessage("celery", 0, app.codec().encode(m), m.id(), null));
        TaskMessage chordless = app.buildMessage("c.add", List.of(1, 2), Map.of(), SendOptions.none()).toBuilder()
                .chord(add().toMap()).build();
        broker.publish(new OutboundMessage("celery", 0, app.codec().encode(chordless), chordless.id(), null));
        TaskMessage unknownType = app.buildMessage("c.add", List.of(1, 2), Map.of(), SendOptions.none()).toBuilder()
                .chain(List.of(Map.of("task", "celery.xmap", "subtask_type", "nonsense", "kwargs", Map.of())))
                .build();
        broker.publish(new OutboundMessage("celery", 0, app.codec().encode(unknownType), unknownType.id(), null));
        var dlq = broker.deadLetterQueue().orElseThrow();
        await().atMost(WAIT).until(() -> dlq.list(10).size() == 3);
        List<String> reasons = dlq.list(10).stream().map(DeadLetter::reason).toList();
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("callbacks[0]").contains("not a signature"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("chord body but no group header"));
        assertThat(reasons).anySatisfy(r -> assertThat(r).contains("unsupported canvas type 'nonsense'"));
        assertThat(worker.processed()).doesNotContainKey("c.add");
    }

    @Test
    void mapStarmapAndChunksRunThroughCeleryBuiltInTasks() {
        worker = app.worker().concurrency(2).start();
        assertThat(Canvas.map(app.signature("c.tsum"), List.of(List.of(1, 2), List.of(3, 4))).applyAsync()
                .get(WAIT)).isEqualTo(List.of(3, 7));
        assertThat(Canvas.starmap(add(), List.of(List.of(1, 2), List.of(3, 4))).applyAsync().get(WAIT))
                .isEqualTo(List.of(3, 7));
        List<List<Integer>> pairs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            pairs.add(List.of(i, i));
        }
        GroupResult chunks = Canvas.chunks(add(), pairs, 3).applyAsync();
        assertThat(chunks.size()).isEqualTo(4);
        assertThat(chunks.join(WAIT)).containsExactly(List.of(0, 2, 4), List.of(6, 8, 10), List.of(12, 14, 16),
                List.of(18));
        // The dict forms Python sends (subtask_type xmap / chunks) read back to the same.
        Map<String, Object> xmap = Map.of("task", "celery.map", "args", List.of(), "subtask_type", "xmap",
                "kwargs", Map.of("task", app.signature("c.tsum").toMap(), "it", List.of(List.of(5, 5))),
                "options", Map.of(), "immutable", true);
        assertThat(((Signature) Canvas.fromMap(xmap)).task()).isEqualTo("celery.map");
        Map<String, Object> pyChunks = Map.of("task", "celery.chunks", "args", List.of(), "subtask_type", "chunks",
                "kwargs", Map.of("task", add().toMap(), "it", pairs, "n", 5), "options", Map.of(), "immutable", true);
        assertThat(((io.celeriac.task.Group) Canvas.fromMap(pyChunks)).members()).hasSize(2);
    }

    @Test
    void aTaskReplacedByACanvasHandsOverItsIdItsChainItsCallbacksAndItsChordPart() {
        worker = app.worker().concurrency(4).start();
        // In a chain: replace_chain(2) becomes add(2, 1) | add(10), then the chain goes on with add(100).
        AsyncResult last = Canvas.chain(add(1, 1), app.signature("c.replace_chain"), add(100)).applyAsync();
        assertThat(last.get(WAIT)).isEqualTo(113);
        AsyncResult replaced = (AsyncResult) last.parent().orElseThrow();
        assertThat(replaced.get(WAIT)).isEqualTo(13);
        // Its callbacks move to the replacement's last task.
        app.signature("c.replace_chain", 5).link(app.signature("c.record", "after")).applyAsync();
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("after"));
        assertThat(CanvasTasks.SEEN.get("after")).containsExactly(16);
        // A group replacement inside a chord header: its results, accumulated, are the part's result.
        AsyncResult body = Canvas.chord(List.of(app.signature("c.replace_group", 3), add(1, 1)),
                app.signature("c.collect")).applyAsync();
        assertThat(body.get(WAIT)).isEqualTo(List.of(List.of(6, 4), 2));
    }

    @Test
    void eagerModeRunsCanvasesInTheCallingThread() {
        Celeriac eager = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .broker(broker).resultBackend(backend).register(new CanvasTasks()).build();
        assertThat(Canvas.chain(eager.signature("c.add", 1, 2), eager.signature("c.add", 3)).applyAsync()
                .get(WAIT)).isEqualTo(6);
        assertThat(Canvas.chord(List.of(eager.signature("c.add", 1, 1), eager.signature("c.add", 2, 2)),
                eager.signature("c.tsum")).applyAsync().get(WAIT)).isEqualTo(6);
        assertThat(Canvas.group(eager.signature("c.add", 1, 1), eager.signature("c.add", 2, 2)).applyAsync()
                .join(WAIT)).containsExactly(2, 4);
    }
}
