package io.celeriac.beat;

import java.time.Instant;
import java.util.Optional;

/**
 * When a periodic task is due. Implementations are deterministic: every beat process computes the same due instants
 * from the same inputs, which is what lets a failover dispatch each (entry, due time) exactly once.
 */
public interface Schedule {
    /** The first due instant strictly after {@code after}, or empty if there is none (a one-off that has passed). */
    Optional<Instant> nextAfter(Instant after);

    /** The schedule in text, as the CLI and dashboard show it and as {@link Schedules#parse} reads it. */
    String spec();
}
