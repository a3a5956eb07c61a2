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

    /**
     * Receives broadcast commands as node {@code hostname} until the returned handle is closed. A transport that
     * keeps a mailbox per node needs the name (AMQP: kombu's queue {@code <hostname>.celery.pidbox}); the others
     * ignore it, which is what this default does.
     */
    default AutoCloseable subscribe(String hostname, Consumer<ControlMessage> listener) {
        return subscribe(listener);
    }

    /** Answers a command that asked for replies: Celery's pidbox reply {@code {hostname: answer}}. */
    void reply(ControlMessage request, String hostname, Object answer);

    /**
     * Broadcasts a command and collects replies for {@code timeout} (Celery's {@code inspect} / {@code control}
     * with {@code reply=True}). Each reply is {@code {hostname: answer}}.
     */
    List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout);
}
