/**
 * JUnit extensions and launchers that start real servers (Redis, RabbitMQ, PostgreSQL, MariaDB) as processes on free
 * loopback ports for tests.
 */
@NullMarked
package io.celeriac.testing;

import org.jspecify.annotations.NullMarked;
