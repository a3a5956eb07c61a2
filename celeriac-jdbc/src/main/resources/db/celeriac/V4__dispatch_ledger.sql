-- The dispatch ledger (JdbcDispatchLedger): beat's record of each (entry, due time) it sends, for brokers that cannot
-- record a key and publish in one atomic step (RabbitMQ). One row per once key, inserted together with the message to
-- publish in one statement: the primary key lets exactly one of any number of beats record a due time. message is the
-- pending message (OutboundMessageCodec's JSON), set to NULL once the broker confirmed it; attempted_at is when it was
-- recorded or last claimed by a relay (NULL once sent): a row still pending long after that was left by a process
-- that died, and the active beat publishes it again; expires_at is when the key may be recorded again. Plain SQL,
-- PostgreSQL and H2.
CREATE TABLE celeriac_dispatch_ledger (
    once_key VARCHAR(255) PRIMARY KEY,
    message VARCHAR(10000000),
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attempted_at TIMESTAMP WITH TIME ZONE,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE INDEX celeriac_dispatch_ledger_pending ON celeriac_dispatch_ledger (attempted_at);
CREATE INDEX celeriac_dispatch_ledger_expires ON celeriac_dispatch_ledger (expires_at);
