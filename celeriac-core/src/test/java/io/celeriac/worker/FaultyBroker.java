package io.celeriac.worker;

import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ControlBus;
import io.celeriac.broker.DeadLetterQueue;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.EventBus;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.Reservation;
import io.celeriac.control.ControlMessage;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The real {@link InMemoryBroker} with outages the tests switch on: an in-memory broker cannot be unplugged, so the
 * operations named here throw {@link BrokerUnavailableException} while their switch is on, as a broker out of reach
 * does. Everything else goes through unchanged, capabilities included. Attempts are counted.
 */
final class FaultyBroker implements Broker {
    final InMemoryBroker inner;
    volatile boolean startupDown;
    volatile boolean deadLetterDown;
    final AtomicInteger deferFailures = new AtomicInteger();
    final AtomicInteger declareAttempts = new AtomicInteger();
    final AtomicInteger deadLetterAttempts = new AtomicInteger();
    final AtomicInteger deferAttempts = new AtomicInteger();
    /** Claims to store the backend's results with its acks (as Redis does with a Redis backend on its server). */
    volatile boolean storesResults;
    /** How many of the next combined writes (results, acks, reserve) to refuse, as a broker refuses bad input. */
    final AtomicInteger combinedRefusals = new AtomicInteger();
    final AtomicInteger combinedWrites = new AtomicInteger();
    final AtomicInteger combinedRefused = new AtomicInteger();

    /** Another event bus than the inner broker's, when a test sets one. */
    volatile EventBus events;
    /** What {@link #reservesUnderWay} says: 1, as the in-memory broker, unless a test asks for more. */
    volatile int reservesUnderWay = 1;
    /** When above 0, every so many reserves started ahead fail as unreachable when awaited, without running. */
    volatile int aheadOutageEvery;
    final AtomicInteger aheadStarted = new AtomicInteger();
    final AtomicInteger aheadFailed = new AtomicInteger();
    /** Reserves started ahead and not yet awaited, and the most there ever were at once. */
    final AtomicInteger aheadUnderWay = new AtomicInteger();
    final AtomicInteger mostAheadUnderWay = new AtomicInteger();

    FaultyBroker(InMemoryBroker inner) {
        this.inner = inner;
    }

    private static BrokerUnavailableException down(String what) {
        return new BrokerUnavailableException(what + " failed: broker at memory:// did not answer",
                new java.net.ConnectException("Connection refused"));
    }

    @Override
    public void declare(Collection<String> queues) {
        declareAttempts.incrementAndGet();
        if (startupDown) {
            throw down("Declaring queues " + queues);
        }
        inner.declare(queues);
    }

    @Override
    public void deadLetter(Delivery delivery, String reason) {
        deadLetterAttempts.incrementAndGet();
        if (deadLetterDown) {
            throw down("Dead-lettering");
        }
        inner.deadLetter(delivery, reason);
    }

    @Override
    public void defer(Delivery delivery, Instant eta) {
        deferAttempts.incrementAndGet();
        if (deferFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw down("Deferring");
        }
        inner.defer(delivery, eta);
    }

    @Override
    public void publish(List<OutboundMessage> messages) {
        inner.publish(messages);
    }

    @Override
    public List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException {
        return inner.reserve(queues, max, wait);
    }

    @Override
    public boolean storesResultsOf(ResultBackend backend) {
        return storesResults;
    }

    @Override
    public List<Delivery> storeAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                             Collection<Delivery> acks, List<String> queues, int max, Duration wait)
            throws InterruptedException {
        combinedWrites.incrementAndGet();
        if (!results.isEmpty() && combinedRefusals.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            combinedRefused.incrementAndGet();
            throw new IllegalArgumentException("refused: a result of this batch cannot be written");
        }
        return Broker.super.storeAckAndReserve(backend, results, acks, queues, max, wait);
    }

    @Override
    public int reservesUnderWay() {
        return reservesUnderWay;
    }

    @Override
    public Reservation startStoreAckAndReserve(ResultBackend backend, List<ResultDocument> results,
                                               Collection<Delivery> acks, List<String> queues, int max) {
        int seq = aheadStarted.incrementAndGet();
        mostAheadUnderWay.accumulateAndGet(aheadUnderWay.incrementAndGet(), Math::max);
        Reservation call = Broker.super.startStoreAckAndReserve(backend, results, acks, queues, max);
        return () -> {
            aheadUnderWay.decrementAndGet();
            int every = aheadOutageEvery;
            if (every > 0 && seq % every == 0) {
                aheadFailed.incrementAndGet();
                throw down("Reserving ahead");
            }
            return call.await();
        };
    }

    @Override
    public void ack(Collection<Delivery> deliveries) {
        inner.ack(deliveries);
    }

    @Override
    public void requeue(Collection<Delivery> deliveries) {
        inner.requeue(deliveries);
    }

    @Override
    public long queueLength(String queue) {
        return inner.queueLength(queue);
    }

    @Override
    public long purge(String queue) {
        return inner.purge(queue);
    }

    @Override
    public java.util.OptionalInt consumerCount(String queue) {
        return inner.consumerCount(queue);
    }

    @Override
    public Optional<DeadLetterQueue> deadLetterQueue() {
        return inner.deadLetterQueue();
    }

    /** The inner broker's remote control, whose subscribing fails while {@link #startupDown} is on. */
    @Override
    public Optional<ControlBus> controlBus() {
        return inner.controlBus().map(bus -> new ControlBus() {
            @Override
            public void broadcast(ControlMessage message) {
                bus.broadcast(message);
            }

            @Override
            public AutoCloseable subscribe(Consumer<ControlMessage> listener) {
                if (startupDown) {
                    throw down("Subscribing");
                }
                return bus.subscribe(listener);
            }

            @Override
            public void reply(ControlMessage request, String hostname, Object answer) {
                bus.reply(request, hostname, answer);
            }

            @Override
            public List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
                return bus.broadcastAndCollect(message, timeout);
            }
        });
    }

    @Override
    public Optional<EventBus> eventBus() {
        EventBus bus = events;
        return bus != null ? Optional.of(bus) : inner.eventBus();
    }

    @Override
    public Optional<OnceDispatch> onceDispatch() {
        return inner.onceDispatch();
    }

    @Override
    public void close() {
        inner.close();
    }
}
