package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.beat.Beat;
import io.celeriac.beat.ClockedSchedule;
import io.celeriac.beat.CrontabSchedule;
import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.BrokerWithoutOnceDispatch;
import io.celeriac.fixtures.MutableClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What every schedule store must do; run against H2 and a real PostgreSQL. */
abstract class ScheduleStoreContract {
    protected final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));

    /** A store on an empty schema, using {@link #clock}. */
    abstract ScheduleStore store();

    @Test
    void savesListsEditsAndRemovesEveryKindOfSchedule() {
        ScheduleStore s = store();
        ScheduleEntry every = new ScheduleEntry("every", "orders.cleanup_expired_carts", List.of(1, "x"),
                Map.of("dry_run", true), IntervalSchedule.every(Duration.ofSeconds(30)), "maintenance", 3, 60.0,
                true, false, Instant.parse("2026-01-01T00:00:00Z"), null, false);
        ScheduleEntry nightly = ScheduleEntry.of("nightly", "reports.daily",
                CrontabSchedule.of("30", "2", "mon-fri", "*", "*", ZoneId.of("Europe/Paris")));
        ScheduleEntry once = ScheduleEntry.of("once", "mail.blast", new ClockedSchedule(
                Instant.parse("2027-01-01T09:00:00Z"))).withOneOff(true);
        s.save(every);
        s.save(nightly);
        s.save(once);
        assertThat(s.entries()).containsExactly(every, nightly, once);
        assertThat(s.entry("nightly")).contains(nightly);

        ScheduleEntry edited = nightly.withSchedule(IntervalSchedule.every(Duration.ofMillis(1500))).withEnabled(false);
        s.save(edited);
        assertThat(s.entry("nightly")).contains(edited);
        assertThat(s.entries()).hasSize(3);

        assertThat(s.remove("once")).isTrue();
        assertThat(s.remove("once")).isFalse();
        assertThat(s.entries()).extracting(ScheduleEntry::name).containsExactly("every", "nightly");
    }

    @Test
    void recordsRuns() {
        ScheduleStore s = store();
        s.save(ScheduleEntry.of("r", "t", IntervalSchedule.every(Duration.ofSeconds(5))));
        Instant due = Instant.parse("2026-11-24T10:00:05Z");
        s.recordRun("r", due, due.plusMillis(3), true);
        s.recordRun("r", due.plusSeconds(5), due.plusSeconds(5), false);
        assertThat(s.state("r").lastDue()).isEqualTo(due.plusSeconds(5));
        assertThat(s.state("r").lastRunAt()).isEqualTo(due.plusMillis(3));
        assertThat(s.state("r").totalRunCount()).isEqualTo(1);
    }

    @Test
    void leaseHasOneHolderAndATokenThatGrowsWithEachNewHolder() {
        ScheduleStore s = store();
        long first = s.lease("a", Duration.ofSeconds(10)).orElseThrow();
        assertThat(s.lease("b", Duration.ofSeconds(10))).isEmpty();
        assertThat(s.lease("a", Duration.ofSeconds(10))).contains(first);
        clock.advance(Duration.ofSeconds(11));
        long second = s.lease("b", Duration.ofSeconds(10)).orElseThrow();
        assertThat(second).isGreaterThan(first);
        assertThat(s.lease("a", Duration.ofSeconds(10))).isEmpty();
        s.release("b");
        assertThat(s.lease("a", Duration.ofSeconds(10))).get().isEqualTo(second + 1);
    }

    @Test
    void beatRunsOnThisStoreAndSeesEditsAtTheNextTick() throws Exception {
        ScheduleStore s = store();
        try (InMemoryBroker broker = new InMemoryBroker(clock)) {
            Celeriac app = Celeriac.builder().broker(broker).clock(clock).build();
            s.save(ScheduleEntry.of("tick", "t.add", IntervalSchedule.every(Duration.ofSeconds(1)), 1, 2));
            Beat beat = new Beat(app, s, clock, "beat-1");
            for (int i = 0; i < 30; i++) {
                beat.tick();
                clock.advance(Duration.ofMillis(100));
            }
            assertThat(broker.queueLength("celery")).isEqualTo(3);
            s.save(s.entry("tick").orElseThrow().withEnabled(false));
            for (int i = 0; i < 30; i++) {
                beat.tick();
                clock.advance(Duration.ofMillis(100));
            }
            assertThat(broker.queueLength("celery")).isEqualTo(3);
            assertThat(s.state("tick").totalRunCount()).isEqualTo(3);
        }
    }

    @Test
    void onABrokerWithoutOnceDispatchTwoBeatsSendEachDueTimeOnceThroughTheStoresLedger() throws Exception {
        ScheduleStore s = store();
        try (BrokerWithoutOnceDispatch broker = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock))) {
            Celeriac app = Celeriac.builder().broker(broker).clock(clock).build();
            s.save(ScheduleEntry.of("tick", "t.add", IntervalSchedule.every(Duration.ofSeconds(1)), 1, 2));
            Beat a = new Beat(app, s, clock, "beat-a", Duration.ofSeconds(2), Duration.ofSeconds(5));
            Beat b = new Beat(app, s, clock, "beat-b", Duration.ofSeconds(2), Duration.ofSeconds(5));
            for (int i = 0; i < 30; i++) {
                a.tick();
                b.tick();
                clock.advance(Duration.ofMillis(100));
            }
            List<String> ids = broker.reserve(List.of("celery"), 100, Duration.ZERO).stream()
                    .map(d -> app.codec().decode(d.message()).id()).toList();
            assertThat(ids).hasSize(3).doesNotHaveDuplicates();
            assertThat(s.state("tick").totalRunCount()).isEqualTo(3);
            clock.advance(Duration.ofSeconds(10));
            assertThat(s.dispatchLedger().orElseThrow().claimPending(Duration.ZERO, 10)).as("all marked sent")
                    .isEmpty();
        }
    }
}
