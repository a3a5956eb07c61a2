-- MariaDB / MySQL flavour of db/celeriac/V4 (same table, same columns; times are UTC DATETIME(6)).
CREATE TABLE celeriac_dispatch_ledger (
    once_key VARCHAR(255) PRIMARY KEY,
    message LONGTEXT,
    recorded_at DATETIME(6) NOT NULL,
    attempted_at DATETIME(6),
    expires_at DATETIME(6) NOT NULL
);

CREATE INDEX celeriac_dispatch_ledger_pending ON celeriac_dispatch_ledger (attempted_at);
CREATE INDEX celeriac_dispatch_ledger_expires ON celeriac_dispatch_ledger (expires_at);
