package io.celeriac.beat;

import java.time.Instant;
import java.util.Optional;

/** Once, at a given instant (django-celery-beat's clocked schedule). */
public record ClockedSchedule(Instant at) implements Schedule {
    @Override
    public Optional<Instant> nextAfter(Instant after) {
        return after.isBefore(at) ? Optional.of(at) : Optional.empty();
    }

    @Override
    public String spec() {
        return "at " + at;
    }
}
