package io.celeriac.dashboard;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.celeriac.dashboard.TaskHistoryTest.event;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Workflows in the task history, from events as workers send them: the tree by parent id, its bound, the root index
 * kept right through eviction and removal, and the root and parent filters of the task list.
 */
class WorkflowTest {
    /** task-received with the ids a worker reports, then started and succeeded (or failed). */
    static List<Map<String, Object>> ran(String id, String name, String root, String parent, double t0, String end) {
        List<Map<String, Object>> evs = new ArrayList<>();
        evs.add(event("task-received", id, t0, "name", name, "args", "()", "kwargs", "{}", "root_id", root,
                "parent_id", parent));
        if (end == null) {
            return evs;
        }
        evs.add(event("task-started", id, t0 + 0.001));
        evs.add(end.equals("SUCCESS") ? event("task-succeeded", id, t0 + 0.002, "result", "1", "runtime", 0.001)
                : event("task-failed", id, t0 + 0.002, "exception", "ValueError('x')"));
        return evs;
    }

    static List<String> ids(Workflow w) {
        return w.nodes().stream().map(n -> n.task().id()).toList();
    }

    static List<Integer> depths(Workflow w) {
        return w.nodes().stream().map(Workflow.Node::depth).toList();
    }

    @Test
    void aChainIsAPathFromItsFirstStepWhicheverStepIsAskedFor() {
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        h.apply(ran("s1", "t.add", "s1", null, 1, "SUCCESS"), 1);
        h.apply(ran("s2", "t.add", "s1", "s1", 2, "SUCCESS"), 2);
        h.apply(ran("s3", "t.add", "s1", "s2", 3, "FAILURE"), 3);
        h.apply(ran("other", "t.add", "other", null, 4, "SUCCESS"), 4);

        for (String asked : List.of("s1", "s2", "s3")) {
            Workflow w = h.workflow(asked, 200).orElseThrow();
            assertThat(w.rootId()).isEqualTo("s1");
            assertThat(w.taskId()).isEqualTo(asked);
            assertThat(ids(w)).containsExactly("s1", "s2", "s3");
            assertThat(depths(w)).containsExactly(0, 1, 2);
            assertThat(w.states()).containsExactly(Map.entry("SUCCESS", 2), Map.entry("FAILURE", 1));
            assertThat(w.hidden()).isZero();
        }
        // A task outside any workflow is a workflow of one.
        assertThat(h.workflow("other", 200).orElseThrow().total()).isEqualTo(1);
        assertThat(h.workflow("nobody", 200)).isEmpty();
    }

    @Test
    void aPythonChainWhoseFirstStepHasNoRootIdStillHasItAsRoot() {
        // Celery sends a top-level task with root_id None; the steps it sends name it as their root.
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        h.apply(ran("p1", "py.add", null, null, 1, "SUCCESS"), 1);
        h.apply(ran("p2", "py.add", "p1", "p1", 2, "SUCCESS"), 2);
        assertThat(ids(h.workflow("p1", 200).orElseThrow())).containsExactly("p1", "p2");
        assertThat(ids(h.workflow("p2", 200).orElseThrow())).containsExactly("p1", "p2");
    }

    @Test
    void eventsWithoutIdsArrivingFirstDoNotLoseTheTaskFromItsWorkflow() {
        // task-started carries no root or parent; it may be folded before task-received.
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        h.apply(ran("r", "t.root", "r", null, 1, "SUCCESS"), 1);
        h.apply(List.of(event("task-started", "c", 2.1)), 2);
        assertThat(h.workflow("r", 200).orElseThrow().total()).isEqualTo(1);
        h.apply(ran("c", "t.child", "r", "r", 2, null), 2);
        Workflow w = h.workflow("r", 200).orElseThrow();
        assertThat(ids(w)).containsExactly("r", "c");
        assertThat(w.nodes().get(1).task().state()).isEqualTo("STARTED");
    }

    /**
     * A task that starts a 10,000-part chord: the body hangs under the part that completed the chord. The tree keeps
     * its shape (the part with the body is listed however late it came) and counts what it leaves out.
     */
    @Test
    void aTenThousandPartChordIsCountedAndListedOnlyInPart() {
        TaskHistory h = new TaskHistory(100_000, HistoryStore.none());
        h.apply(ran("batch", "t.batch", "batch", null, 0, "SUCCESS"), 0);
        List<Map<String, Object>> evs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            evs.addAll(ran("part-" + i, "t.part", "batch", "batch", 1 + i / 1000.0, i == 7 ? "FAILURE"
                    : i >= 9_990 ? null : "SUCCESS"));
        }
        h.apply(evs, 1);
        h.apply(ran("body", "t.sum", "batch", "part-9000", 20, null), 20);

        long t0 = System.nanoTime();
        Workflow w = h.workflow("batch", Workflow.DEFAULT_LIMIT).orElseThrow();
        long first = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            h.workflow("batch", Workflow.DEFAULT_LIMIT);
        }
        System.out.printf("workflow of 10,002 tasks: first %.1f ms, then %.1f ms each%n", (first - t0) / 1e6,
                (System.nanoTime() - first) / 20 / 1e6);
        assertThat(w.total()).isEqualTo(10_002);
        assertThat(w.states()).containsExactly(Map.entry("RECEIVED", 11), Map.entry("SUCCESS", 9_990),
                Map.entry("FAILURE", 1));
        // The root, the first 50 parts, the part that sent the body (in its place by time), and the body.
        assertThat(w.nodes()).hasSize(53);
        assertThat(ids(w).subList(0, 3)).containsExactly("batch", "part-0", "part-1");
        assertThat(ids(w).subList(51, 53)).containsExactly("part-9000", "body");
        assertThat(depths(w).subList(51, 53)).containsExactly(1, 2);
        Workflow.Node root = w.nodes().get(0);
        assertThat(root.children()).isEqualTo(10_000);
        assertThat(root.hiddenChildren()).isEqualTo(9_949);
        assertThat(root.hiddenStates()).containsExactly(Map.entry("RECEIVED", 10), Map.entry("SUCCESS", 9_939));
        assertThat(w.hidden()).isEqualTo(9_949);

        // Asked from a part far down the list, that part is listed too.
        Workflow fromPart = h.workflow("part-5000", Workflow.DEFAULT_LIMIT).orElseThrow();
        assertThat(ids(fromPart)).contains("part-5000", "part-9000", "body").hasSize(54);
        assertThat(fromPart.nodes().get(0).hiddenChildren()).isEqualTo(9_948);
    }

    @Test
    void theLimitBoundsTheListEvenWhenEveryTaskStartedOthers() {
        // 300 members each with a callback: none is a leaf, so only the limit stops the list.
        TaskHistory h = new TaskHistory(10_000, HistoryStore.none());
        h.apply(ran("g", "t.g", "g", null, 0, "SUCCESS"), 0);
        for (int i = 0; i < 300; i++) {
            h.apply(ran("m" + i, "t.m", "g", "g", 1 + i, "SUCCESS"), 1);
            h.apply(ran("cb" + i, "t.cb", "g", "m" + i, 1.5 + i, "SUCCESS"), 1);
        }
        Workflow w = h.workflow("cb299", 100).orElseThrow();
        assertThat(w.total()).isEqualTo(601);
        // 100, plus the asked-for callback and its member past the limit.
        assertThat(w.nodes()).hasSize(102);
        assertThat(ids(w).subList(0, 5)).containsExactly("g", "m0", "cb0", "m1", "cb1");
        assertThat(ids(w).subList(100, 102)).containsExactly("m299", "cb299");
        assertThat(h.workflow("g", 100_000).orElseThrow().nodes()).hasSize(601);
        assertThat(h.workflow("g", 0).orElseThrow().nodes()).hasSize(1);
    }

    @Test
    void aChainOfTenThousandStepsAskedFromItsLastStepListsItsStartAndItsEnd() {
        TaskHistory h = new TaskHistory(100_000, HistoryStore.none());
        List<Map<String, Object>> evs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            evs.addAll(ran("step-" + i, "t.step", "step-0", i == 0 ? null : "step-" + (i - 1), i, "SUCCESS"));
        }
        h.apply(evs, 1);
        Workflow w = h.workflow("step-9999", Workflow.DEFAULT_LIMIT).orElseThrow();
        assertThat(w.total()).isEqualTo(10_000);
        // The first 200 steps, then the last step and the 10 before it, each at its depth.
        assertThat(w.nodes()).hasSize(Workflow.DEFAULT_LIMIT + Workflow.ANCESTORS_SHOWN + 1);
        assertThat(ids(w).get(199)).isEqualTo("step-199");
        assertThat(ids(w).get(200)).isEqualTo("step-9989");
        assertThat(w.nodes().get(200).depth()).isEqualTo(9_989);
        assertThat(ids(w).get(210)).isEqualTo("step-9999");
        assertThat(w.hidden()).isEqualTo(10_000 - 211);
    }

    @Test
    void aLoopOfParentsIsStillListedOnce() {
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        h.apply(ran("a", "t", "r", "b", 1, "SUCCESS"), 1);
        h.apply(ran("b", "t", "r", "a", 2, "SUCCESS"), 2);
        Workflow w = h.workflow("a", 200).orElseThrow();
        assertThat(ids(w)).containsExactlyInAnyOrder("a", "b");
        assertThat(w.total()).isEqualTo(2);
    }

    @Test
    void evictedAndDiscardedTasksLeaveTheirWorkflow() {
        TaskHistory h = new TaskHistory(3, HistoryStore.none());
        h.apply(ran("w1", "t", "w1", null, 1, "SUCCESS"), 1);
        h.apply(ran("w2", "t", "w1", "w1", 2, "SUCCESS"), 2);
        h.apply(ran("w3", "t", "w1", "w2", 3, "SUCCESS"), 3);
        h.apply(ran("x", "t", "x", null, 4, "SUCCESS"), 4); // evicts w1, the oldest
        Workflow w = h.workflow("w3", 200).orElseThrow();
        assertThat(w.rootId()).isEqualTo("w1");
        assertThat(ids(w)).containsExactly("w2", "w3");
        h.remove(List.of("w2"));
        assertThat(ids(h.workflow("w3", 200).orElseThrow())).containsExactly("w3");
        h.remove(List.of("w3"));
        assertThat(h.workflow("w1", 200)).isEmpty();
    }

    @Test
    void theTaskListFiltersByWorkflowAndByParent() {
        TaskHistory h = new TaskHistory(1000, HistoryStore.none());
        h.apply(ran("r", "t.root", "r", null, 1, "SUCCESS"), 1);
        h.apply(ran("a", "t.a", "r", "r", 2, "SUCCESS"), 2);
        h.apply(ran("b", "t.b", "r", "r", 3, "FAILURE"), 3);
        h.apply(ran("c", "t.c", "r", "a", 4, "SUCCESS"), 4);
        h.apply(ran("elsewhere", "t.a", "z", "z", 5, "SUCCESS"), 5);
        assertThat(h.query(new TaskQuery(Set.of(), null, null, null, "r", null, 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("c", "b", "a", "r");
        assertThat(h.query(new TaskQuery(Set.of(), null, null, null, null, "r", 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("b", "a");
        assertThat(h.query(new TaskQuery(Set.of("FAILURE"), null, null, null, "r", null, 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("b");
        assertThat(h.query(new TaskQuery(Set.of(), "t.a", null, null, " r ", "", 0, 50)).items())
                .extracting(TaskRecord::id).containsExactly("a");
    }

    @Test
    void theWorkflowIndexIsRebuiltFromTheSavedHistory() {
        TaskHistory before = new TaskHistory(1000, HistoryStore.none());
        before.apply(ran("s1", "t", "s1", null, 1, "SUCCESS"), 1);
        before.apply(ran("s2", "t", "s1", "s1", 2, "SUCCESS"), 2);
        List<TaskRecord> saved = new ArrayList<>();
        before.scan(saved::add);
        TaskHistory after = new TaskHistory(1000, new HistoryStore() {
            @Override
            public List<TaskRecord> load(int max) {
                return saved;
            }

            @Override
            public void save(java.util.Collection<TaskRecord> records) {
            }

            @Override
            public void trim(int max) {
            }

            @Override
            public void remove(java.util.Collection<String> ids) {
            }
        });
        assertThat(ids(after.workflow("s2", 200).orElseThrow())).containsExactly("s1", "s2");
    }
}
