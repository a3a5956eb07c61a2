-- Task results in a table (Celery's django-db backend, django_celery_results_taskresult in shape). One row per task
-- id, replaced on every state change; expires_at drives the expiry job.
CREATE TABLE celeriac_task_result (
    task_id VARCHAR(255) PRIMARY KEY,
    status VARCHAR(50) NOT NULL,
    result VARCHAR(10000000),
    traceback VARCHAR(10000000),
    children VARCHAR(1000000),
    meta VARCHAR(1000000),
    task_name VARCHAR(255),
    parent_id VARCHAR(255),
    date_done TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE
);

CREATE INDEX celeriac_task_result_status ON celeriac_task_result (status, date_done);
CREATE INDEX celeriac_task_result_name ON celeriac_task_result (task_name, date_done);
CREATE INDEX celeriac_task_result_expires ON celeriac_task_result (expires_at);
