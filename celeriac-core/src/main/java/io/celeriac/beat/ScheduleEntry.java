package io.celeriac.beat;

import io.celeriac.protocol.JsonValues;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A periodic task: what to send and when (Celery's beat_schedule entry, django-celery-beat's PeriodicTask).
 *
 * @param name unique name
 * @param task task name to send
 * @param args positional arguments (JSON values)
 * @param kwargs keyword arguments (JSON values)
 * @param schedule when it is due
 * @param queue queue to send to, or null for the task's routing
 * @param priority 0-9, or null
 * @param expiresSeconds seconds after the due time when the sent task expires, or null
 * @param enabled disabled entries are kept but not sent
 * @param oneOff disable after the first run
 * @param startTime not due before this, or null
 * @param endTime not due after this, or null
 * @param catchUp after downtime: {@code true} sends the latest missed run once, {@code false} skips missed runs
 */
public record ScheduleEntry(String name, String task, List<Object> args, Map<String, Object> kwargs, Schedule schedule,
                            @Nullable String queue, @Nullable Integer priority, @Nullable Double expiresSeconds,
                            boolean enabled, boolean oneOff, @Nullable Instant startTime, @Nullable Instant endTime,
                            boolean catchUp) {
    public ScheduleEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(schedule, "schedule");
        args = JsonValues.immutableList(args);
        kwargs = JsonValues.immutableMap(kwargs);
    }

    /** An enabled entry with no options; adjust with the {@code with*} methods. */
    public static ScheduleEntry of(String name, String task, Schedule schedule, Object... args) {
        return new ScheduleEntry(name, task, List.of(args), Map.of(), schedule, null, null, null, true, false, null,
                null, true);
    }

    public ScheduleEntry withEnabled(boolean v) {
        return new ScheduleEntry(name, task, args, kwargs, schedule, queue, priority, expiresSeconds, v, oneOff,
                startTime, endTime, catchUp);
    }

    public ScheduleEntry withSchedule(Schedule v) {
        return new ScheduleEntry(name, task, args, kwargs, v, queue, priority, expiresSeconds, enabled, oneOff,
                startTime, endTime, catchUp);
    }

    public ScheduleEntry withQueue(@Nullable String v) {
        return new ScheduleEntry(name, task, args, kwargs, schedule, v, priority, expiresSeconds, enabled, oneOff,
                startTime, endTime, catchUp);
    }

    public ScheduleEntry withCatchUp(boolean v) {
        return new ScheduleEntry(name, task, args, kwargs, schedule, queue, priority, expiresSeconds, enabled, oneOff,
                startTime, endTime, v);
    }

    public ScheduleEntry withOneOff(boolean v) {
        return new ScheduleEntry(name, task, args, kwargs, schedule, queue, priority, expiresSeconds, enabled, v,
                startTime, endTime, catchUp);
    }

    public ScheduleEntry withWindow(@Nullable Instant start, @Nullable Instant end) {
        return new ScheduleEntry(name, task, args, kwargs, schedule, queue, priority, expiresSeconds, enabled, oneOff,
                start, end, catchUp);
    }
}
