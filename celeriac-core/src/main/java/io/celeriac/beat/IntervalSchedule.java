package io.celeriac.beat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Every {@code every}, on a grid anchored at {@code anchor} (the entry's start, or the epoch), so that all beat
 * processes agree on the due instants.
 */
public record IntervalSchedule(Duration every, Instant anchor) implements Schedule {
    public IntervalSchedule {
        if (every.isZero() || every.isNegative()) {
            throw new IllegalArgumentException("interval must be positive, was " + every);
        }
        anchor = anchor == null ? Instant.EPOCH : anchor;
    }

    public static IntervalSchedule every(Duration every) {
        return new IntervalSchedule(every, Instant.EPOCH);
    }

    @Override
    public Optional<Instant> nextAfter(Instant after) {
        if (after.isBefore(anchor)) {
            return Optional.of(anchor);
        }
        long step = every.toMillis();
        long since = after.toEpochMilli() - anchor.toEpochMilli();
        long k = since / step + 1;
        return Optional.of(anchor.plusMillis(k * step));
    }

    @Override
    public String spec() {
        return "every " + (every.toMillis() % 1000 == 0 ? every.toSeconds() + "s" : every.toMillis() + "ms");
    }
}
