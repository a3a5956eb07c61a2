/**
 * RabbitMQ (AMQP 0-9-1) as broker, event bus, pidbox and {@code rpc://} result backend, in Celery's exchange and queue
 * layout.
 */
@NullMarked
package io.celeriac.amqp;

import org.jspecify.annotations.NullMarked;
