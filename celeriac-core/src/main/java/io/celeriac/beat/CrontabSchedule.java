package io.celeriac.beat;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Celery's {@code crontab(minute, hour, day_of_week, day_of_month, month_of_year)} in a time zone, parsed by
 * cron-utils (ranges, steps, lists, names).
 *
 * <p>Matching is done on wall-clock time, then mapped to the zone, so daylight saving does what people expect: an
 * entry for 02:30 fires once on the spring-forward day (at 03:30, when 02:30 does not exist) and once on the
 * fall-back day (at the first 02:30; the repeated hour is the same wall-clock time and is not matched again).
 */
public final class CrontabSchedule implements Schedule {
    private static final CronParser PARSER =
            new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final String minute;
    private final String hour;
    private final String dayOfWeek;
    private final String dayOfMonth;
    private final String monthOfYear;
    private final ZoneId zone;
    private final ExecutionTime execution;

    public CrontabSchedule(String minute, String hour, String dayOfWeek, String dayOfMonth, String monthOfYear,
                           ZoneId zone) {
        this.minute = minute;
        this.hour = hour;
        this.dayOfWeek = dayOfWeek;
        this.dayOfMonth = dayOfMonth;
        this.monthOfYear = monthOfYear;
        this.zone = zone;
        String unix = String.join(" ", minute, hour, dayOfMonth, monthOfYear, dayOfWeek);
        Cron cron;
        try {
            cron = PARSER.parse(unix);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad crontab '" + spec() + "': " + e.getMessage(), e);
        }
        this.execution = ExecutionTime.forCron(cron);
    }

    /** Celery's argument order: minute, hour, day_of_week, day_of_month, month_of_year. */
    public static CrontabSchedule of(String minute, String hour, String dayOfWeek, String dayOfMonth,
                                     String monthOfYear, ZoneId zone) {
        return new CrontabSchedule(minute, hour, dayOfWeek, dayOfMonth, monthOfYear, zone);
    }

    /** A Unix crontab line {@code "m h dom mon dow"}. */
    public static CrontabSchedule unix(String line, ZoneId zone) {
        String[] f = line.trim().split("\\s+");
        if (f.length != 5) {
            throw new IllegalArgumentException("a crontab line has 5 fields (m h dom mon dow), got '" + line + "'");
        }
        return new CrontabSchedule(f[0], f[1], f[4], f[2], f[3], zone);
    }

    public ZoneId zone() {
        return zone;
    }

    public String minute() { return minute; }
    public String hour() { return hour; }
    public String dayOfWeek() { return dayOfWeek; }
    public String dayOfMonth() { return dayOfMonth; }
    public String monthOfYear() { return monthOfYear; }

    @Override
    public Optional<Instant> nextAfter(Instant after) {
        // Wall-clock arithmetic in a zone without transitions, then back into the real zone.
        LocalDateTime local = LocalDateTime.ofInstant(after, zone);
        Optional<ZonedDateTime> next = execution.nextExecution(local.atZone(ZoneOffset.UTC));
        while (next.isPresent()) {
            LocalDateTime candidate = next.get().toLocalDateTime();
            // ofLocal: a time in a gap moves forward by the gap; in an overlap the earlier offset is used.
            Instant at = ZonedDateTime.ofLocal(candidate, zone, null).toInstant();
            if (at.isAfter(after)) {
                return Optional.of(at);
            }
            next = execution.nextExecution(next.get());
        }
        return Optional.empty();
    }

    @Override
    public String spec() {
        return "crontab " + String.join(" ", minute, hour, dayOfMonth, monthOfYear, dayOfWeek) + " " + zone;
    }

    @Override
    public boolean equals(@Nullable Object o) {
        return o instanceof CrontabSchedule c && spec().equals(c.spec());
    }

    @Override
    public int hashCode() {
        return spec().hashCode();
    }

    @Override
    public String toString() {
        return spec();
    }
}
