package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.CeleryVectors;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.backend.ResultCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.Canvas;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The workflow fields of real Celery 5.2.6 messages (celery-vectors/send) are continued exactly as Celery's worker
 * continues them, and the messages Celeriac builds have Celery's shape.
 */
class CanvasWireTest {
    private final MessageCodec codec = new MessageCodec();
    private final InMemoryBroker broker = new InMemoryBroker();
    private final InMemoryResultBackend backend = new InMemoryResultBackend();
    private final Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().build()).broker(broker)
            .resultBackend(backend).build();
    private final CanvasSteps steps = new CanvasSteps(app.workerEnvironment().messages(), backend, broker, codec,
            Clock.systemUTC());

    @AfterEach
    void close() {
        broker.close();
    }

    private TaskMessage vector(String name) {
        return codec.decode(new KombuEnvelope(codec).decode(CeleryVectors.read("send/" + name)));
    }

    private TaskMessage sent(OutboundMessage o) {
        return codec.decode(o.message());
    }

    @SuppressWarnings("unchecked")
    private static String taskId(Object sig) {
        return (String) ((Map<String, Object>) ((Map<String, Object>) sig).get("options")).get("task_id");
    }

    @Test
    void aCeleryChainStepSendsTheNextStepWithItsPresetIdAndTheRestOfTheChain() {
        TaskMessage first = vector("chain.celery.0.json");   // chain(add.s(1, 2), add.s(3), add.s(4))
        CanvasSteps.FollowUps f = steps.onSuccess(first, 3);

        assertThat(f.messages()).hasSize(1);
        TaskMessage next = sent(f.messages().get(0));
        assertThat(next.task()).isEqualTo("vtasks.add");
        assertThat(next.id()).isEqualTo(taskId(first.chain().get(1)));
        assertThat(next.args()).containsExactly(3, 3);
        assertThat(next.chain()).containsExactly(first.chain().get(0));
        assertThat(next.parentId()).isEqualTo(first.id());
        assertThat(next.rootId()).isEqualTo(first.rootId());
    }

    @Test
    void aFailedCeleryChainStepMarksTheRemainingStepsFailed() {
        TaskMessage first = vector("chain.celery.0.json");
        ResultDocument failure = new ResultDocument(first.id(), TaskState.FAILURE,
                ResultCodec.exceptionResult("ValueError", "builtins", "bad"), "tb", List.of(), Instant.now(), null,
                Map.of());
        List<CanvasSteps.ChordPart> parts = new ArrayList<>();
        CanvasSteps.FollowUps f = steps.onFailure(first, failure, parts);
        assertThat(f.messages()).isEmpty();
        assertThat(f.documents()).extracting(ResultDocument::taskId)
                .containsExactly(taskId(first.chain().get(0)), taskId(first.chain().get(1)));
        assertThat(f.documents()).allSatisfy(d -> assertThat(d.excType()).isEqualTo("ValueError"));
        assertThat(parts).isEmpty();
    }

    @Test
    void celeryLinkAndLinkErrorGetTheResultAndTheTaskId() {
        TaskMessage m = vector("link_and_link_error.celery.0.json");   // link=add.s(10), link_error=boom.s("e")
        TaskMessage callback = sent(steps.onSuccess(m, 3).messages().get(0));
        assertThat(callback.task()).isEqualTo("vtasks.add");
        assertThat(callback.args()).containsExactly(3, 10);
        assertThat(callback.parentId()).isEqualTo(m.id());

        ResultDocument failure = new ResultDocument(m.id(), TaskState.FAILURE,
                ResultCodec.exceptionResult("ValueError", "builtins", "bad"), null, List.of(), Instant.now(), null,
                Map.of());
        TaskMessage errback = sent(steps.onFailure(m, failure, new ArrayList<>()).messages().get(0));
        assertThat(errback.task()).isEqualTo("vtasks.boom");
        assertThat(errback.args()).containsExactly(m.id(), "e");
        // Celery sends errbacks as a group.
        assertThat(errback.group()).isNotNull();
    }

    @Test
    void theLastPartOfACeleryChordSendsItsBodyWithTheResultsInGroupOrder() throws Exception {
        TaskMessage part = vector("chord.celery.0.json");   // chord(add.s(i, i) for i in range(3), tsum.s()), part 2
        ChordCounter counter = backend.chords().orElseThrow();
        counter.setSize(part.group(), 3);
        counter.partDone(part.group(), "part-0", 0, TaskState.SUCCESS, 0);
        steps.join(steps.chordPart(part, TaskState.SUCCESS, 4));
        assertThat(broker.queueLength("celery")).isZero();
        counter.partDone(part.group(), "part-0", 0, TaskState.SUCCESS, 0);   // a repeat counts once
        assertThat(broker.queueLength("celery")).isZero();

        CanvasSteps.ChordPart last = new CanvasSteps.ChordPart(part.group(), "part-1", 1, TaskState.SUCCESS, 2,
                part.chord(), part.rootId(), 0);
        steps.join(last);
        List<Delivery> got = broker.reserve(List.of("celery"), 10, Duration.ofSeconds(1));
        assertThat(got).hasSize(1);
        TaskMessage body = codec.decode(got.get(0).message());
        assertThat(body.task()).isEqualTo("vtasks.tsum");
        assertThat(body.id()).isEqualTo(taskId(part.chord()));
        assertThat(body.args()).containsExactly(List.of(0, 2, 4));
    }

    @Test
    void javaChainsAndChordsHaveCeleryShape() {
        TaskMessage celery = vector("chain.celery.0.json");
        io.celeriac.canvas.CanvasPlanner planner = new io.celeriac.canvas.CanvasPlanner(
                app.workerEnvironment().messages());
        var d = planner.plan(Canvas.chain(app.signature("vtasks.add", 1, 2), app.signature("vtasks.add", 3),
                app.signature("vtasks.add", 4)), io.celeriac.canvas.CanvasPlanner.Context.none());
        TaskMessage ours = d.messages().get(0);
        assertThat(ours.args()).containsExactly(1, 2);
        assertThat(ours.chain()).hasSize(2);
        @SuppressWarnings("unchecked")
        Map<String, Object> step = (Map<String, Object>) ours.chain().get(0);
        @SuppressWarnings("unchecked")
        Map<String, Object> theirs = (Map<String, Object>) celery.chain().get(0);
        assertThat(step.keySet()).containsExactlyInAnyOrderElementsOf(theirs.keySet());
        assertThat(step.get("args")).isEqualTo(List.of(4));
        assertThat(step.get("subtask_type")).isNull();
        assertThat(step.get("immutable")).isEqualTo(false);
        assertThat(taskId(step)).isEqualTo(((io.celeriac.canvas.CanvasPlanner.One) d.result()).id());

        var chord = planner.plan(Canvas.chord(List.of(app.signature("vtasks.add", 0, 0),
                app.signature("vtasks.add", 1, 1)), app.signature("vtasks.tsum")),
                io.celeriac.canvas.CanvasPlanner.Context.none());
        assertThat(chord.messages()).hasSize(2);
        assertThat(chord.chordSizes()).containsValue(2);
        TaskMessage second = chord.messages().get(1);
        TaskMessage celeryPart = vector("chord.celery.0.json");
        assertThat(second.groupIndex()).isEqualTo(1);
        assertThat(second.group()).isEqualTo(chord.chordSizes().keySet().iterator().next());
        assertThat(second.chord().keySet()).containsExactlyInAnyOrderElementsOf(celeryPart.chord().keySet());
    }
}
