package io.celeriac;

import java.util.Map;

/**
 * Adds headers to every task message sent by an app (e.g. {@code traceparent} for OpenTelemetry). Called on the
 * sending thread, so it sees that thread's context.
 */
@FunctionalInterface
public interface HeaderProvider {
    Map<String, Object> headers(String taskName);
}
