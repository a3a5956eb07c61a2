-- MariaDB / MySQL flavour of db/celeriac-dashboard/V1 (same table and columns; LONGTEXT for the record). utf8mb4
-- whatever the server's default, so that any text a task reported survives; a binary collation so that task ids
-- compare exactly, as everywhere else (under a case-insensitive one, ids 'A' and 'a' would be one row).
CREATE TABLE celeriac_dashboard_task (
    task_id VARCHAR(255) PRIMARY KEY,
    first_seen DOUBLE NOT NULL,
    record LONGTEXT NOT NULL
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;

CREATE INDEX celeriac_dashboard_task_order ON celeriac_dashboard_task (first_seen, task_id);
