-- MariaDB / MySQL flavour of db/celeriac/V1 (same tables, same columns; times are UTC DATETIME(6)).
CREATE TABLE celeriac_beat_interval (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    every BIGINT NOT NULL,
    period VARCHAR(24) NOT NULL
);

CREATE TABLE celeriac_beat_crontab (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    cron_minute VARCHAR(240) NOT NULL,
    cron_hour VARCHAR(96) NOT NULL,
    day_of_week VARCHAR(64) NOT NULL,
    day_of_month VARCHAR(124) NOT NULL,
    month_of_year VARCHAR(64) NOT NULL,
    timezone VARCHAR(63) NOT NULL
);

CREATE TABLE celeriac_beat_clocked (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    clocked_time DATETIME(6) NOT NULL
);

CREATE TABLE celeriac_beat_periodic_task (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(200) NOT NULL UNIQUE,
    task VARCHAR(200) NOT NULL,
    args LONGTEXT NOT NULL,
    kwargs LONGTEXT NOT NULL,
    queue VARCHAR(200),
    priority INTEGER,
    expires_seconds DOUBLE,
    enabled BOOLEAN NOT NULL,
    one_off BOOLEAN NOT NULL,
    catch_up BOOLEAN NOT NULL,
    start_time DATETIME(6),
    end_time DATETIME(6),
    interval_id BIGINT REFERENCES celeriac_beat_interval (id),
    crontab_id BIGINT REFERENCES celeriac_beat_crontab (id),
    clocked_id BIGINT REFERENCES celeriac_beat_clocked (id),
    last_due DATETIME(6),
    last_run_at DATETIME(6),
    total_run_count BIGINT NOT NULL DEFAULT 0,
    date_changed DATETIME(6) NOT NULL
);

CREATE TABLE celeriac_beat_lease (
    name VARCHAR(64) PRIMARY KEY,
    holder VARCHAR(200),
    expires_at DATETIME(6) NOT NULL,
    token BIGINT NOT NULL
);

INSERT INTO celeriac_beat_lease (name, holder, expires_at, token) VALUES ('beat', NULL, '1970-01-01 00:00:00', 0);
