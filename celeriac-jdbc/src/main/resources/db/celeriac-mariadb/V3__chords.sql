-- MariaDB / MySQL flavour of db/celeriac/V3 (same tables, same columns; times are UTC DATETIME(6)).
CREATE TABLE celeriac_chord (
    group_id VARCHAR(255) PRIMARY KEY,
    chord_size INTEGER,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6)
);

CREATE INDEX celeriac_chord_expires ON celeriac_chord (expires_at);

CREATE TABLE celeriac_chord_part (
    group_id VARCHAR(255) NOT NULL,
    task_id VARCHAR(255) NOT NULL,
    group_index INTEGER,
    state VARCHAR(50) NOT NULL,
    result LONGTEXT,
    date_done DATETIME(6) NOT NULL,
    PRIMARY KEY (group_id, task_id)
);
