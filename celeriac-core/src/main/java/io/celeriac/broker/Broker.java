package io.celeriac.broker;

import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Where task messages wait: the one interface every transport implements (in memory, Redis, RabbitMQ). Messages
 * are {@link io.celeriac.protocol.BrokerMessage}s (body, headers, properties); how a transport lays them out is its
 * own. Every operation on the hot path takes a batch, so an implementation can do it in one round trip: publishing
 * many messages, reserving up to {@code max} at once, acking many.
 *
 * <p>Delivery follows AMQP's and kombu's model: {@link #reserve} hands out messages and keeps each recoverable until
 * it is settled ({@link #ack}, {@link #requeue}, {@link #defer}, {@link #deadLetter}); a consumer that dies without
 * settling gets its messages redelivered. Whether a worker acks before or after running a task (Celery's
 * {@code acks_late}) is the worker's choice, not the broker's. {@code BrokerContract} (core's test jar) is what each
 * implementation must pass.
 *
 * <p>What not every transport can offer is a separate interface, reached through an accessor that is empty when the
 * broker lacks it: {@link DeadLetterQueue} (browse and mend dead letters), {@link ControlBus} (remote control),
 * {@link EventBus} (monitoring events), {@link OnceDispatch} (publish at most once per key).
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

    /** Declares the queues a consumer will read (kombu's bindings on Redis, queue declarations on AMQP). Idempotent. */
    default void declare(Collection<String> queues) {
    }

    /**
     * Takes up to {@code max} messages from {@code queues}, waiting up to {@code wait} while all are empty. Queues are
     * served in turn (kombu's cycle: the queue that delivered goes to the back), and by priority within a queue.
     * Returns an empty list on timeout. What the broker cannot make into a message (bytes that are not an envelope,
     * not UTF-8, over the size limit) it dead-letters itself and never hands out.
     */
    List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException;

    /**
     * Acks {@code acks}, then takes up to {@code max} messages as {@link #reserve} does: the worker's hot path with
     * acks late, where the messages just settled make room for the next ones. The acks are written before, or in
     * one atomic step with, the reserve, so a consumer never holds more than it had room for; a broker may do both
     * in one round trip (Redis: one script). Throws {@link BrokerUnavailableException} if the broker could not be
     * reached: then the acks may or may not be written (acking again is harmless) and nothing was reserved.
     */
    default List<Delivery> ackAndReserve(Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        if (!acks.isEmpty()) {
            ack(acks);
        }
        return reserve(queues, max, wait);
    }

    /**
     * Stores {@code results} in {@code backend}, then acks and reserves as {@link #ackAndReserve} does: everything
     * finished acks-late tasks leave, and the next fetch. The results are stored before the acks are written, so a
     * crash in between redelivers a message whose result is stored (the task runs again), never acks one whose result
     * is not. A broker that {@link #storesResultsOf stores the backend's results itself} does it all in one round trip
     * (Redis: one script); any other stores them through the backend first.
     *
     * <p>Throws {@link BrokerUnavailableException} (or the backend's unavailable exception) if the server could not be
     * reached: then the results and acks may or may not be written (writing them again is harmless) and nothing was
     * reserved. Any other exception is a refusal, and nothing was acked.
     */
    default List<Delivery> storeAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                              Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        if (!results.isEmpty()) {
            backend.store(results);
        }
        return ackAndReserve(acks, queues, max, wait);
    }

    /**
     * Starts what {@link #storeAckAndReserve} does, without waiting for messages, and may return before the broker has
     * answered: a worker with a backlog sends its next reserve before it receives the messages of the last one, so the
     * broker's work and the worker's overlap instead of taking turns. A caller may have up to
     * {@link #reservesUnderWay} of them under way at once and awaits them in the order it started them;
     * {@link Reservation#await} gives each one's outcome. The default does the call when it is awaited, so a broker
     * that cannot send one ahead behaves as if the worker called {@link #storeAckAndReserve} then.
     */
    default Reservation startStoreAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                                Collection<Delivery> acks, List<String> queues, int max) {
        return () -> storeAckAndReserve(backend, results, acks, queues, max, Duration.ZERO);
    }

    /**
     * How many reserves started with {@link #startStoreAckAndReserve} a consumer gains by having under way at once.
     * Where each call is a round trip of its own (Redis), two let one call's wait for its answer overlap the other's;
     * the default's calls run only when awaited, so more than one gains nothing there.
     */
    default int reservesUnderWay() {
        return 1;
    }

    /**
     * Whether {@link #storeAckAndReserve} writes {@code backend}'s results in the same round trip as the acks (the
     * backend lives on this broker's server). Only then does the worker hand its results to the consumer's next
     * reserve; otherwise it stores them itself, as early as it can.
     */
    default boolean storesResultsOf(ResultBackend backend) {
        return false;
    }

    /**
     * Says how many messages this consumer keeps reserved and unsettled at most: the worker's prefetch window
     * (concurrency × prefetch multiplier), told at start and whenever the pool grows or shrinks. A transport where
     * the server pushes messages (AMQP) may then keep a standing subscription that delivers ahead up to that many
     * unsettled, as Celery's prefetch count does, instead of subscribing for each {@link #reserve}; held messages not
     * yet handed out still count. A transport the consumer pulls from (Redis) has no use for it. Without it,
     * {@link #reserve} holds exactly what it hands out. Zero: the consumer stopped; what was delivered ahead and not
     * handed out goes back to its queues.
     */
    default void prefetchCount(int count) {
    }

    /** Forgets delivered messages: done with them. */
    void ack(Collection<Delivery> deliveries);

    /** Puts delivered messages back at the front of their queues, to be served next (warm shutdown, reject). */
    void requeue(Collection<Delivery> deliveries);

    /** Moves a delivered message whose ETA is in the future to the broker's schedule, acking the delivery. */
    void defer(Delivery delivery, Instant eta);

    /**
     * Moves a message that cannot run to the dead-letter queue with the reason, acking the delivery. Also takes a
     * delivery already acked (a task acked on start whose arguments then did not fit): the record is written all the
     * same.
     */
    void deadLetter(Delivery delivery, String reason);

    /** Messages waiting in a queue (all priorities), not counting reserved or scheduled ones. */
    long queueLength(String queue);

    /** Empties a queue; returns how many messages were removed. */
    long purge(String queue);

    /**
     * Consumers subscribed to a queue, if this broker knows them all: RabbitMQ counts every client's subscriptions
     * (Python Celery workers' too; a running Celeriac worker holds one per queue it consumes). Empty where the broker
     * keeps no record of who reads a queue (Redis: workers pop from lists and leave no trace per queue), so that a
     * caller shows the count as unknown rather than one that leaves some consumers out. A queue that does not exist
     * has none. Throws {@link BrokerUnavailableException} if the broker could not be asked.
     */
    default OptionalInt consumerCount(String queue) {
        return OptionalInt.empty();
    }

    /** Browsing and mending dead letters, if this broker keeps them where they can be read back. */
    default Optional<DeadLetterQueue> deadLetterQueue() {
        return Optional.empty();
    }

    /** Celery's remote control, if this broker carries it. */
    default Optional<ControlBus> controlBus() {
        return Optional.empty();
    }

    /** Celery's monitoring events, if this broker carries them. */
    default Optional<EventBus> eventBus() {
        return Optional.empty();
    }

    /** Publishing at most once per key, if this broker can do it atomically. */
    default Optional<OnceDispatch> onceDispatch() {
        return Optional.empty();
    }

    @Override
    void close();
}
