/**
 * OpenTelemetry tracing: the sender's trace context travels in task message headers and each task runs in a span that
 * continues it.
 */
@NullMarked
package io.celeriac.opentelemetry;

import org.jspecify.annotations.NullMarked;
