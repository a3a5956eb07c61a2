package io.celeriac.redis.testing;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The fleet fault test's bookkeeping tells a duplicate a kill explains from one it does not. */
class FleetRunsTest {
    @Test
    void aRedeliveryAfterTheHolderWasKilledIsExplained() {
        FleetRuns runs = FleetRuns.parse(Map.of(
                1, "hello c1 100 0\nstart a 100 1000\n",
                2, "hello c2 200 0\nstart a 200 12000\nend a 200 12030\n"));

        assertThat(runs.runs("a")).extracting(FleetRuns.Run::worker).containsExactly(1, 2);
        assertThat(runs.ended("a")).isTrue();
        assertThat(runs.repeats()).isEqualTo(1);
        assertThat(runs.interrupted()).isEqualTo(1);
        assertThat(runs.unexplainedRepeats(Map.of(1, 2000L))).isEmpty();
        assertThat(runs.consumers()).containsEntry(1, "c1").containsEntry(2, "c2");
    }

    @Test
    void aSecondRunWhileTheFirstWorkerLivesIsNot() {
        FleetRuns runs = FleetRuns.parse(Map.of(
                1, "start a 100 1000\nend a 100 1040\n",
                2, "start a 200 1020\nend a 200 1050\n"));

        // Never killed, or killed only after the second run had started: both are duplicates.
        assertThat(runs.unexplainedRepeats(Map.of())).singleElement()
                .satisfies(u -> assertThat(u.later().worker()).isEqualTo(2));
        assertThat(runs.unexplainedRepeats(Map.of(1, 5000L))).singleElement()
                .satisfies(u -> assertThat(u.earlierKilledAt()).isEqualTo(5000L));
    }

    @Test
    void aTaskHandedTwiceToOneProcessPairsItsRunsAndIsNotExplained() {
        FleetRuns runs = FleetRuns.parse(Map.of(1, "start a 100 1000\nstart a 100 1010\nend a 100 1030\n"
                + "end a 100 1050\n"));

        assertThat(runs.runs("a")).hasSize(2).allMatch(FleetRuns.Run::ended);
        assertThat(runs.unexplainedRepeats(Map.of(1, 9000L))).hasSize(1);
    }

    @Test
    void aLineCutByAKillIsDroppedAndGarbageIsReported() {
        FleetRuns runs = FleetRuns.parse(Map.of(1, "start a 100 1000\nend a 100 1010\nstart b 1",
                2, "end c 200 1000\nnonsense\n"));

        assertThat(runs.tasks()).containsExactly("a");
        assertThat(runs.anomalies()).containsExactlyInAnyOrder("worker-2.log: end of c without a start",
                "worker-2.log: unreadable line 'nonsense'");
    }
}
