-- MariaDB / MySQL flavour of db/celeriac/V5 (same table, same columns; times are UTC DATETIME(6)). SKIP LOCKED needs
-- MariaDB 10.6 or MySQL 8.0.
CREATE TABLE celeriac_outbox (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    once_key VARCHAR(255) NOT NULL,
    keep_seconds BIGINT NOT NULL,
    task_id VARCHAR(255),
    task_name VARCHAR(255),
    message LONGTEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    failure VARCHAR(2000)
);
