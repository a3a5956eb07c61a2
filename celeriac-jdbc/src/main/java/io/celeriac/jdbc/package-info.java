/**
 * A result backend, chord counter, schedule store, dispatch ledger and transactional outbox ({@link
 * io.celeriac.jdbc.JdbcOutbox}, {@link io.celeriac.jdbc.OutboxRelay}) on a SQL database (PostgreSQL, MariaDB or
 * MySQL, H2).
 */
@NullMarked
package io.celeriac.jdbc;

import org.jspecify.annotations.NullMarked;
