package io.celeriac.beat;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What beat has done with an entry.
 *
 * @param lastDue the due instant last sent (or skipped), or null if never
 * @param lastRunAt when that send happened
 * @param totalRunCount how many times it was sent
 */
public record EntryState(@Nullable Instant lastDue, @Nullable Instant lastRunAt, long totalRunCount) {
    public static final EntryState NEW = new EntryState(null, null, 0);
}
