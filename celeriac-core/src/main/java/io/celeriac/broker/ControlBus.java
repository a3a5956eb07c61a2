package io.celeriac.broker;

import io.celeriac.control.ControlMessage;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Celery's remote control (the {@code celery.pidbox} fanout and its replies): {@code celery inspect},
 * {@code celery control}, revoke, rate limits, pool resizing, shutdown. A broker offers it through
 * {@link Broker#controlBus()}; a worker on a broker without one runs without remote control.
 */
public interface ControlBus {
    /** Sends a command to every worker (or those in its destination). */
    void broadcast(ControlMessage message);

    /** Receives broadcast commands until the returned handle is closed. */
    AutoCloseable subscribe(Consumer<ControlMessage> listener);

    /** Answers a command that asked for replies: Celery's pidbox reply {@code {hostname: answer}}. */
    void reply(ControlMessage request, String hostname, Object answer);

    /**
     * Broadcasts a command and collects replies for {@code timeout} (Celery's {@code inspect} / {@code control}
     * with {@code reply=True}). Each reply is {@code {hostname: answer}}.
     */
    List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout);
}
