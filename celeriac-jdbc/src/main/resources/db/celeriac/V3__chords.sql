-- Chord counting (ChordCounter): one row per chord and one per finished part. Every write to a chord's parts first
-- locks the chord's row (SELECT ... FOR UPDATE), so the parts of one chord are recorded one transaction at a time and
-- exactly one transaction sees their count reach chord_size. Plain SQL, PostgreSQL and H2.
CREATE TABLE celeriac_chord (
    group_id VARCHAR(255) PRIMARY KEY,
    -- NULL while a part arrived before the size was written.
    chord_size INTEGER,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    -- result_expires after the last write to the chord; NULL when results never expire.
    expires_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX celeriac_chord_expires ON celeriac_chord (expires_at);

-- A part recorded again (its message was redelivered) replaces its row: the key is the task id.
CREATE TABLE celeriac_chord_part (
    group_id VARCHAR(255) NOT NULL,
    task_id VARCHAR(255) NOT NULL,
    group_index INTEGER,
    state VARCHAR(50) NOT NULL,
    result VARCHAR(10000000),
    date_done TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (group_id, task_id)
);
