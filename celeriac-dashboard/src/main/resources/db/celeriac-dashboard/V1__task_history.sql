-- The dashboard's task history (JdbcHistoryStore), PostgreSQL and H2: one row per task id, the task's record as
-- JSON (TaskRecord, as RedisHistoryStore keeps it), ordered by when the dashboard first heard of the task; ties on
-- first_seen (a batch of events shares one clock reading) are broken by id, as a Redis sorted set does.
CREATE TABLE celeriac_dashboard_task (
    task_id VARCHAR(255) PRIMARY KEY,
    first_seen DOUBLE PRECISION NOT NULL,
    record VARCHAR(10000000) NOT NULL
);

CREATE INDEX celeriac_dashboard_task_order ON celeriac_dashboard_task (first_seen, task_id);
