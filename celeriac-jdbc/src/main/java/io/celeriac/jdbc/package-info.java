/**
 * A result backend, chord counter, schedule store and dispatch ledger on a SQL database (PostgreSQL, MariaDB or MySQL,
 * H2).
 */
@NullMarked
package io.celeriac.jdbc;

import org.jspecify.annotations.NullMarked;
