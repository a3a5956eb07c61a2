package io.celeriac.broker;

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

    /** Receives every event (lists are delivered one event at a time) until the returned handle is closed. */
    AutoCloseable subscribe(Consumer<Map<String, Object>> listener);
}
