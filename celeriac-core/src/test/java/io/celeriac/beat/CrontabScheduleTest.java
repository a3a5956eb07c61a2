package io.celeriac.beat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CrontabScheduleTest {
    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");

    private static List<ZonedDateTime> next(Schedule s, ZonedDateTime from, int n) {
        List<ZonedDateTime> out = new ArrayList<>();
        Instant t = from.toInstant();
        for (int i = 0; i < n; i++) {
            t = s.nextAfter(t).orElseThrow();
            out.add(t.atZone(PARIS));
        }
        return out;
    }

    @Test
    void daily0230RunsOnceOnTheSpringForwardDay() {
        // 2026-03-29: Paris clocks jump from 02:00 to 03:00; 02:30 does not exist that day.
        Schedule s = CrontabSchedule.of("30", "2", "*", "*", "*", PARIS);
        List<ZonedDateTime> runs = next(s, ZonedDateTime.of(2026, 3, 27, 12, 0, 0, 0, PARIS), 4);
        assertThat(runs).extracting(ZonedDateTime::toString).containsExactly(
                "2026-03-28T02:30+01:00[Europe/Paris]",
                "2026-03-29T03:30+02:00[Europe/Paris]",
                "2026-03-30T02:30+02:00[Europe/Paris]",
                "2026-03-31T02:30+02:00[Europe/Paris]");
    }

    @Test
    void daily0230RunsOnceOnTheFallBackDay() {
        // 2026-10-25: Paris clocks go back from 03:00 to 02:00; 02:30 happens twice that day.
        Schedule s = CrontabSchedule.of("30", "2", "*", "*", "*", PARIS);
        List<ZonedDateTime> runs = next(s, ZonedDateTime.of(2026, 10, 24, 12, 0, 0, 0, PARIS), 3);
        assertThat(runs).extracting(ZonedDateTime::toString).containsExactly(
                "2026-10-25T02:30+02:00[Europe/Paris]",
                "2026-10-26T02:30+01:00[Europe/Paris]",
                "2026-10-27T02:30+01:00[Europe/Paris]");
        // Even asked from inside the repeated hour, it does not run a second time that day.
        Instant secondPass = ZonedDateTime.of(2026, 10, 25, 2, 15, 0, 0, PARIS).withLaterOffsetAtOverlap().toInstant();
        assertThat(s.nextAfter(secondPass).orElseThrow().atZone(PARIS).toString())
                .isEqualTo("2026-10-26T02:30+01:00[Europe/Paris]");
    }

    @Test
    void celerysFieldsRangesStepsListsAndNames() {
        // crontab(minute='*/15', hour='9-17', day_of_week='mon-fri'): Friday 17:45, then Monday 09:00.
        Schedule s = CrontabSchedule.of("*/15", "9-17", "mon-fri", "*", "*", PARIS);
        List<ZonedDateTime> runs = next(s, ZonedDateTime.of(2026, 11, 27, 17, 40, 0, 0, PARIS), 2);
        assertThat(runs).extracting(ZonedDateTime::toString).containsExactly(
                "2026-11-27T17:45+01:00[Europe/Paris]", "2026-11-30T09:00+01:00[Europe/Paris]");
        // crontab(0, 0, day_of_month='1,15', month_of_year='jan,jul')
        Schedule t = CrontabSchedule.of("0", "0", "*", "1,15", "jan,jul", ZoneId.of("UTC"));
        assertThat(t.nextAfter(Instant.parse("2026-01-15T00:00:00Z"))).contains(Instant.parse("2026-07-01T00:00:00Z"));
        assertThat(Schedules.parse("crontab 0 0 1,15 jan,jul * UTC", PARIS)).isEqualTo(t);
    }

    @Test
    void badFieldsAreRefused() {
        assertThatThrownBy(() -> CrontabSchedule.of("61", "*", "*", "*", "*", PARIS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad crontab");
    }

    @Property(tries = 200)
    void nextTimesIncreaseAndMatchTheMinuteField(@ForAll @LongRange(min = 1_700_000_000L, max = 2_000_000_000L)
                                                 long epoch) {
        Schedule s = CrontabSchedule.of("7,37", "*", "*", "*", "*", PARIS);
        Instant t = Instant.ofEpochSecond(epoch);
        for (int i = 0; i < 5; i++) {
            Instant n = s.nextAfter(t).orElseThrow();
            assertThat(n).isAfter(t);
            assertThat(n.atZone(PARIS).getMinute()).isIn(7, 37);
            assertThat(java.time.Duration.between(t, n).toMinutes()).isLessThanOrEqualTo(90);
            t = n;
        }
    }
}
