package io.celeriac.broker;

import io.celeriac.control.ControlMessage;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where task messages wait. Every operation on the hot path takes a batch, so an implementation can do it in one
 * round trip: publishing many messages, reserving up to {@code max} at once, acking many.
 *
 * <p>Delivery follows kombu's model: {@link #reserve} hands out messages and keeps each recoverable until
 * {@link #ack}; a consumer that dies without acking gets its messages redelivered. Whether a worker acks before or
 * after running a task (Celery's {@code acks_late}) is the worker's choice, not the broker's.
 */
public interface Broker extends AutoCloseable {

    /**
     * Queues messages. A message with a future ETA is either queued at once (Redis, as Celery does, so Python
     * workers on the same queue run it when due) or held until due (in memory); a Celeriac worker that receives one
     * early hands it back with {@link #defer}, so no worker hoards scheduled tasks.
     * Throws {@link BrokerUnavailableException} if any may not have been stored.
     */
    void publish(List<OutboundMessage> messages);

    default void publish(OutboundMessage message) {
        publish(List.of(message));
    }

    /**
     * Publishes a message unless a message was already published under {@code onceKey} within {@code keep}; the
     * check, the record and the publish are one atomic step. Beat uses it so that each (entry, due time) is sent
     * exactly once, whichever beat process sends it and whatever fails in between.
     *
     * @return true if this call published, false if the key was already taken
     */
    boolean publishOnce(String onceKey, Duration keep, OutboundMessage message);

    /** Deletes a {@link #publishOnce} key, so the next publish under it goes through (unique tasks). */
    void forgetOnce(String onceKey);

    /**
     * Declares the queues a consumer will read (kombu writes its {@code _kombu.binding.*} sets here). Idempotent.
     */
    default void declare(Collection<String> queues) {
    }

    /**
     * Takes up to {@code max} messages from {@code queues} (served in the order given, and by priority within a
     * queue), waiting up to {@code wait} while all are empty. Returns an empty list on timeout.
     */
    List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException;

    /** Forgets delivered messages: done with them. */
    void ack(Collection<Delivery> deliveries);

    /** Puts delivered messages back at the front of their queues, to be served next (warm shutdown, reject). */
    void requeue(Collection<Delivery> deliveries);

    /** Moves a delivered message whose ETA is in the future to the broker's schedule, acking the delivery. */
    void defer(Delivery delivery, Instant eta);

    /** Moves a message that cannot run to the dead-letter queue with the reason, acking the delivery. */
    void deadLetter(Delivery delivery, String reason);

    /** The dead-letter queue, newest first. */
    List<DeadLetter> deadLetters(int limit);

    /** How many messages the dead-letter queue holds, without reading them. */
    default long deadLetterCount() {
        return deadLetters(Integer.MAX_VALUE).size();
    }

    /** Puts a dead letter back on its queue; returns false if no such record. */
    boolean requeueDeadLetter(String id);

    /** Drops a dead letter; returns false if no such record. */
    boolean discardDeadLetter(String id);

    /** Messages waiting in a queue (all priorities), not counting reserved or scheduled ones. */
    long queueLength(String queue);

    /** Empties a queue; returns how many messages were removed. */
    long purge(String queue);

    /** Sends a remote-control command to every worker (Celery's broadcast / pidbox). */
    void broadcast(ControlMessage message);

    /** Receives broadcast commands until the returned handle is closed. */
    AutoCloseable subscribeBroadcast(Consumer<ControlMessage> listener);

    /**
     * Publishes a monitoring event (Celery's {@code celeryev} exchange: not queued, lost if nobody listens).
     *
     * @param routingKey {@code worker.online}, {@code worker.heartbeat}, {@code worker.offline} or {@code task.multi}
     * @param hostname the sending node, written into the envelope's headers as Celery does
     * @param body one event (a map) or, for {@code task.multi}, a list of task events
     */
    default void publishEvent(String routingKey, String hostname, Object body) {
    }

    /** Receives every event published on this broker (lists are delivered one event at a time). */
    default AutoCloseable subscribeEvents(Consumer<java.util.Map<String, Object>> listener) {
        return () -> { };
    }

    /** Answers a broadcast command that asked for replies: Celery's pidbox reply {@code {hostname: answer}}. */
    default void reply(ControlMessage request, String hostname, Object answer) {
    }

    /**
     * Broadcasts a command and collects replies for {@code timeout} (Celery's {@code inspect} / {@code control}
     * with {@code reply=True}). Each reply is {@code {hostname: answer}}.
     */
    default List<java.util.Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
        broadcast(message);
        return List.of();
    }

    @Override
    void close();
}
