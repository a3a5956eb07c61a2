package io.celeriac.dashboard;

/** What a dashboard user may do. */
public enum Role {
    /** Sees everything, changes nothing. */
    READ_ONLY,
    /** Also retries, revokes, purges, edits schedules and controls workers. */
    ADMIN
}
