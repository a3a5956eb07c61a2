CREATE TABLE celeriac_task_result (
    task_id VARCHAR(255) PRIMARY KEY,
    status VARCHAR(50) NOT NULL,
    result LONGTEXT,
    traceback LONGTEXT,
    children LONGTEXT,
    meta LONGTEXT,
    task_name VARCHAR(255),
    parent_id VARCHAR(255),
    date_done DATETIME(6) NOT NULL,
    expires_at DATETIME(6)
);

CREATE INDEX celeriac_task_result_status ON celeriac_task_result (status, date_done);
CREATE INDEX celeriac_task_result_name ON celeriac_task_result (task_name, date_done);
CREATE INDEX celeriac_task_result_expires ON celeriac_task_result (expires_at);
