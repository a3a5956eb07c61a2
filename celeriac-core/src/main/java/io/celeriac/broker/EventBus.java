package io.celeriac.broker;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Celery's monitoring events ({@code celeryev}: not queued, lost when nobody listens), as {@code celery events},
 * Flower and the dashboard read them. A broker offers it through {@link Broker#eventBus()}; without one, a worker
 * started with events on sends none and says so.
 */
public interface EventBus {
    /**
     * Publishes an event.
     *
     * @param routingKey {@code worker.online}, {@code worker.heartbeat}, {@code worker.offline} or {@code task.multi}
     * @param hostname the sending node, written into the message's headers as Celery does
     * @param body one event (a map) or, for {@code task.multi}, a list of task events
     */
    void publish(String routingKey, String hostname, Object body);

    /**
     * Publishes a body already written as JSON (UTF-8): a worker writes its batches of task events straight to bytes.
     * A bus that carries JSON sends it as it is; this default reads it back into values for one that does not.
     *
     * @param json one event (an object) or a list of events, as {@link #publish}'s body
     */
    default void publishJson(String routingKey, String hostname, byte[] json) {
        Object body = EventJson.CODEC.readJson(new String(json, StandardCharsets.UTF_8));
        if (body != null) {
            publish(routingKey, hostname, body);
        }
    }

    /** Receives every event (lists are delivered one event at a time) until the returned handle is closed. */
    AutoCloseable subscribe(Consumer<Map<String, Object>> listener);
}
