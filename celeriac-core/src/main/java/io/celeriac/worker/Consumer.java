package io.celeriac.worker;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.Reservation;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.MessageRejectedException;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskOptions;
import io.celeriac.task.TaskRegistry;
import io.celeriac.task.TaskRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Thread {@code celeriac-consumer}: reserves as many messages as the {@link PrefetchWindow} has room for, decodes
 * each one and either turns it into a {@link Request} for the {@link Dispatcher}, stores it as REVOKED (revoked or
 * expired), hands it to the broker's schedule (ETA ahead) or dead-letters it (cannot run). What it could not settle
 * because the broker failed meanwhile goes back to its queue, after a pause.
 */
final class Consumer {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    /**
     * The smallest prefetch window the consumer reserves ahead with. The call sent ahead gets the room freed while the
     * last one was under way, about half the window: in a window of 8 (acks late, prefetch 1, 8 threads) that is 4
     * messages a call, and twice the calls cost more than the overlap saves (measured: 15,300/s against 19,000/s).
     */
    private static final int RESERVE_AHEAD_MIN_WINDOW = 16;
    /**
     * The fewest free places a second call under way is sent for (where the broker gains by two,
     * {@link Broker#reservesUnderWay}): fewer and the extra calls cost more than their overlap saves.
     */
    private static final int SECOND_RESERVE_MIN_PERMITS = 8;
    private final CeleriacConfig config;
    private final Broker broker;
    private final MessageCodec codec;
    private final Clock clock;
    private final TaskRegistry registry;
    private final String hostname;
    private final List<String> queues;
    private final PrefetchWindow window;
    private final CanvasSteps canvas;
    private final RevokedIds revoked;
    private final Dispatcher dispatcher;
    private final Outcomes outcomes;
    private final List<WorkerListener> listeners;
    private final AtomicBoolean draining;
    /** Messages to hand back to the broker because deferring or dead-lettering them failed; the consumer retries. */
    private final ConcurrentLinkedQueue<Delivery> giveBack = new ConcurrentLinkedQueue<>();
    private long giveBackAt;
    private long giveBackBackoff = 100;
    private final Thread thread;
    private final AckHandoff acks;
    private final ResultBackend backend;
    private final Completer completer;
    /**
     * Taken from the handoff and not yet written (the last call failed): written with the next reserve. Acks, each
     * holding a permit, and the results to store before them.
     */
    private final List<AckHandoff.Finished> unwritten = new ArrayList<>();
    /** Reserves sent ahead and not yet awaited, oldest first. */
    private final ArrayDeque<Ahead> underWay = new ArrayDeque<>();
    private final int reservesUnderWay;
    private volatile boolean consuming;

    /** A reserve sent ahead: its permits, and the finished tasks whose results and acks it writes. */
    private record Ahead(Reservation reservation, int permits, List<AckHandoff.Finished> written) {
    }

    Consumer(CeleriacConfig config, Broker broker, MessageCodec codec, Clock clock, TaskRegistry registry,
             String hostname, List<String> queues, PrefetchWindow window, RevokedIds revoked, Dispatcher dispatcher,
             Outcomes outcomes, List<WorkerListener> listeners, AtomicBoolean draining, AckHandoff acks,
             CanvasSteps canvas, ResultBackend backend, Completer completer) {
        this.acks = acks;
        this.backend = backend;
        this.completer = completer;
        this.canvas = canvas;
        this.config = config;
        this.broker = broker;
        this.codec = codec;
        this.clock = clock;
        this.registry = registry;
        this.hostname = hostname;
        this.queues = queues;
        this.window = window;
        this.revoked = revoked;
        this.dispatcher = dispatcher;
        this.outcomes = outcomes;
        this.listeners = listeners;
        this.draining = draining;
        this.thread = new Thread(this::consumeLoop, "celeriac-consumer");
        this.reservesUnderWay = Math.max(1, broker.reservesUnderWay());
    }

    void start() {
        consuming = true;
        thread.start();
    }

    /** Stops reserving and waits for the loop to end. */
    void stop() {
        consuming = false;
        thread.interrupt();
        Worker.joinQuietly(thread);
    }

    /** Takes the messages still waiting to be given back (once the loop has stopped, for the shutdown to return). */
    List<Delivery> drainGiveBack() {
        List<Delivery> out = new ArrayList<>();
        for (Delivery d; (d = giveBack.poll()) != null; ) {
            out.add(d);
        }
        return out;
    }

    private void consumeLoop() {
        try {
            consume();
        } finally {
            // stop() interrupts this thread to end a reserve that waits for messages; left set, the interrupt would
            // fail the last write at once (Lettuce: "Command interrupted") and leave it to the results thread.
            boolean interrupted = Thread.interrupted();
            try {
                writeLastAcks();
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private void consume() {
        long backoff = 100;
        // True while the last reserve filled every free place: a backlog, so the next reserve returns at once.
        boolean backlog = false;
        boolean interrupted = false;
        while (true) {
            if (interrupted) {
                interrupted = false;
                Thread.currentThread().interrupt();
            }
            int n;
            List<Delivery> got;
            Ahead ahead = underWay.poll();
            if (ahead != null) {
                n = ahead.permits();
                // stop()'s interrupt ends a reserve that waits for messages; this one never waits, and what it took
                // is ours to receive whether or not the worker is stopping: the interrupt is kept for the loop's next
                // turn, which stops once nothing is under way.
                interrupted = Thread.interrupted();
                try {
                    got = ahead.reservation().await();
                    backoff = 100;
                } catch (InterruptedException | RuntimeException e) {
                    // What it was to write is written again, with the next call.
                    unwritten.addAll(0, ahead.written());
                    backoff = failedReserve(n, e, backoff);
                    backlog = false;
                    continue;
                }
                window.acked(AckHandoff.permits(ahead.written()));
            } else {
                if (!consuming || draining.get()) {
                    break;
                }
                if (!giveBack.isEmpty()) {
                    giveBackNow();
                }
                try {
                    // Not a blocking acquire: with every permit held (the result backend down, say) the loop still
                    // wakes up to hand back messages it could not settle.
                    n = window.takeAll(200);
                } catch (InterruptedException e) {
                    break;
                }
                // With a backlog the call below does not wait, so acks handed over meanwhile are written within one
                // turn of this loop; otherwise it may wait for messages, so it takes in every ack handed over until
                // now.
                unwritten.addAll(acks.take(backlog));
                if (n == 0 && unwritten.isEmpty()) {
                    continue;
                }
                // With no room (every permit held by tasks waiting for a pool slot, acked early) the call only
                // writes: results handed over hold no permit and must not wait for one.
                try {
                    got = storeAckAndReserve(n, backlog || n == 0 ? Duration.ZERO : Duration.ofSeconds(1));
                    backoff = 100;
                } catch (InterruptedException e) {
                    window.release(n);
                    break;
                } catch (RuntimeException e) {
                    backoff = failedReserve(n, e, backoff);
                    backlog = false;
                    continue;
                }
                window.acked(AckHandoff.permits(unwritten));
                unwritten.clear();
            }
            backlog = n > 0 && got.size() == n;
            window.reserved(n, got.size());
            if (backlog && underWay.isEmpty() && mayReserveAhead()) {
                // With a backlog the next reserve is sent before the messages of this one are received, so the broker
                // works on it while this thread decodes and dispatches; it is taken at the top of a later turn.
                reserveAhead(window.takeAllNow());
            }
            for (Delivery d : got) {
                try {
                    receive(d);
                } catch (RuntimeException e) {
                    // Never let one message stop the consumer, nor stay reserved here for ever (receive() hands a
                    // message on only as its last step, so it is still ours): broker trouble sends it back to its
                    // queue; anything else would fail again, so it is dead-lettered rather than looped.
                    log.error("Unexpected error receiving a message from {}: {}", d.queue(), e.toString(), e);
                    if (Completer.isUnavailable(e)) {
                        giveBack(d);
                    } else {
                        reject(d, null, "refused: the worker failed to receive it: " + e);
                    }
                }
            }
            dispatcher.flush();
            if (backlog && underWay.size() < reservesUnderWay && !underWay.isEmpty() && mayReserveAhead()) {
                // Places freed while this batch was dispatched: a second call goes now rather than after the answer
                // to the first, so one call's wait for the broker overlaps the other's.
                int free = window.takeAllNow();
                if (free >= SECOND_RESERVE_MIN_PERMITS) {
                    reserveAhead(free);
                } else {
                    window.release(free);
                }
            }
        }
    }

    private boolean mayReserveAhead() {
        return window.size() >= RESERVE_AHEAD_MIN_WINDOW && consuming && !draining.get() && giveBack.isEmpty();
    }

    /**
     * Sends a reserve for {@code permits} places (already taken) without waiting for it, with the acks and results
     * handed over until now; it is awaited at the top of a later turn.
     */
    private void reserveAhead(int permits) {
        // Permits taken before acks, as at the top of the loop: an ack whose permit is taken here is in the list
        // taken next, so it is written by the call that uses its place.
        unwritten.addAll(acks.take(true));
        if (permits == 0 && unwritten.isEmpty()) {
            return;
        }
        List<AckHandoff.Finished> written = List.copyOf(unwritten);
        unwritten.clear();
        underWay.add(new Ahead(broker.startStoreAckAndReserve(backend, resultsOf(written), acksOf(written), queues,
                permits), permits, written));
    }

    /**
     * A reserve failed: its {@code n} permits go back, what it was to write is written again with the next one (or,
     * refused, by the completer), and the loop pauses; returns the next pause.
     */
    private long failedReserve(int n, Exception failure, long backoff) {
        window.release(n);
        if (!consuming) {
            return backoff;
        }
        RuntimeException e = failure instanceof RuntimeException r ? r : new BrokerUnavailableException(
                "Interrupted while reserving", failure);
        if (!unwritten.isEmpty() && !Completer.isUnavailable(e)) {
            refused(e);
        }
        log.warn("Cannot reserve from the broker ({}); retrying in {} ms", e.toString(), backoff);
        Worker.sleepQuietly(backoff);
        return Math.min(5000, backoff * 2);
    }

    /**
     * Writes what was handed over (results first, then acks) and reserves up to {@code n}: one round trip where the
     * broker stores the results itself, else the results through the backend and then one for acks and reserve.
     */
    private List<Delivery> storeAckAndReserve(int n, Duration wait) throws InterruptedException {
        List<Delivery> ackList = acksOf(unwritten);
        List<ResultDocument> results = resultsOf(unwritten);
        return results.isEmpty() ? broker.ackAndReserve(ackList, queues, n, wait)
                : broker.storeAckAndReserve(backend, results, ackList, queues, n, wait);
    }

    private static List<Delivery> acksOf(List<AckHandoff.Finished> finished) {
        List<Delivery> out = new ArrayList<>(finished.size());
        for (AckHandoff.Finished f : finished) {
            if (f.ack() != null) {
                out.add(f.ack());
            }
        }
        return out;
    }

    private static List<ResultDocument> resultsOf(List<AckHandoff.Finished> finished) {
        List<ResultDocument> out = new ArrayList<>(finished.size());
        for (AckHandoff.Finished f : finished) {
            if (f.result() != null) {
                out.add(f.result());
            }
        }
        return out;
    }

    /**
     * The broker refused (rather than could not be reached) the write of what was handed over: the same call would
     * fail again. It goes back to the completer, which writes it the careful way (results one by one, a refused one
     * replaced by a FAILURE saying why, a refused ack left for redelivery).
     */
    private void refused(RuntimeException e) {
        log.warn("The broker refused to write {} finished task(s) with its next reserve ({}); writing them one by one",
                unwritten.size(), e.toString());
        completer.giveBack(List.copyOf(unwritten));
        unwritten.clear();
    }

    /** The loop has ended: nothing is handed over any more; what was is written here. */
    private void writeLastAcks() {
        unwritten.addAll(acks.take(false));
        if (unwritten.isEmpty()) {
            return;
        }
        try {
            storeAckAndReserve(0, Duration.ZERO);
            window.acked(AckHandoff.permits(unwritten));
        } catch (InterruptedException | RuntimeException e) {
            // The results thread stops after this one and keeps trying until the shutdown deadline; what it cannot
            // write by then stays unacked and is redelivered.
            log.warn("Could not write {} finished task(s) while stopping ({}); the results thread writes them",
                    unwritten.size(), e.toString());
            completer.giveBack(List.copyOf(unwritten));
        }
        unwritten.clear();
    }

    /**
     * A message we could not settle (consumer thread). It keeps its permit and goes back to its queue after a pause
     * that doubles while settling keeps failing (up to 5 s), so a broker in trouble is not hammered by the same
     * message coming straight back; {@link #giveBackNow} retries the requeue itself while the broker is down.
     */
    private void giveBack(Delivery d) {
        if (giveBack.isEmpty()) {
            giveBackAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(giveBackBackoff);
        }
        giveBack.add(d);
    }

    /** Settling worked again: messages given back from now on return at once. */
    private void settledFine() {
        giveBackBackoff = 100;
    }

    private void giveBackNow() {
        if (System.nanoTime() - giveBackAt < 0) {
            return;
        }
        List<Delivery> list = drainGiveBack();
        if (list.isEmpty()) {
            return;
        }
        giveBackBackoff = Math.min(5000, giveBackBackoff * 2);
        try {
            broker.requeue(list);
            window.settle(list.size());
            log.info("Gave {} message(s) back to the broker", list.size());
        } catch (RuntimeException e) {
            giveBack.addAll(list);
            log.warn("Cannot give {} message(s) back to the broker ({}); retrying in {} ms", list.size(),
                    e.toString(), giveBackBackoff);
            giveBackAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(giveBackBackoff);
        }
    }

    private void receive(Delivery d) {
        TaskMessage m;
        try {
            m = codec.decode(d.message());
        } catch (MessageRejectedException e) {
            reject(d, null, e.reason());
            return;
        }
        TaskRequest tr = new TaskRequest(m.id(), m.task(), m.args(), m.kwargs(), m.retries(), m.eta(),
                m.expires(), m.parentId(), m.rootId(), m.group(), hostname, m.exchange(), m.routingKey(), d.queue(),
                m.extraHeaders());
        TaskDefinition def = registry.find(m.task()).orElse(null);
        if (def == null) {
            // The request goes with it, so monitors show the task's name and arguments, not a bare id.
            reject(d, tr, "Received unregistered task of type '" + m.task()
                    + "': no task of that name is registered on " + hostname);
            return;
        }
        // Checked before it runs: a task whose callbacks, chain or chord this worker cannot send on would otherwise
        // run and silently end its workflow.
        String unhonourable = canvas.unhonourable(m);
        if (unhonourable != null) {
            reject(d, tr, unhonourable);
            return;
        }
        Instant now = clock.instant();
        if (revoked.contains(m.id())) {
            log.info("Discarding revoked task: {}[{}]", m.task(), m.id());
            outcomes.finishRevoked(d, m, tr, def, false, false, true);
            return;
        }
        if (m.expires() != null && now.isAfter(m.expires())) {
            log.info("Discarding expired task: {}[{}] (expired {})", m.task(), m.id(), m.expires());
            revoked.add(m.id());
            outcomes.finishRevoked(d, m, tr, def, false, true, true);
            return;
        }
        if (m.eta() != null && m.eta().isAfter(now)) {
            // The broker holds scheduled tasks (a sorted set on Redis), so a worker never hoards them in memory.
            log.info("Task {}[{}] received, ETA {}: held by the broker until due", m.task(), m.id(), m.eta());
            try {
                broker.defer(d, m.eta());
            } catch (RuntimeException e) {
                log.warn("Could not hand {}[{}] to the broker's schedule ({}); it goes back to its queue", m.task(),
                        m.id(), e.toString());
                giveBack(d);
                return;
            }
            settledFine();
            window.settle(1);
            return;
        }
        TaskOptions o = def.options();
        Request r = new Request(d, m, def, tr,
                o.acksLate().orElse(config.acksLate()),
                m.ignoreResult() || o.ignoreResult().orElse(config.ignoreResult()),
                o.trackStarted().orElse(config.trackStarted()),
                limit(m.softTimeLimit(), o.softTimeLimit(), config.softTimeLimit()),
                limit(m.timeLimit(), o.timeLimit(), config.timeLimit()),
                now);
        dispatcher.reserve(r);
        if (log.isInfoEnabled()) {
            log.info("Task {} received", r.label());
        }
        for (WorkerListener l : listeners) {
            l.taskReceived(tr);
        }
        dispatcher.offer(r);
    }

    private static @Nullable Duration limit(@Nullable Double fromMessage, Optional<Duration> fromTask,
                                            Optional<Duration> fromConfig) {
        if (fromMessage != null) {
            return Duration.ofNanos(Math.round(fromMessage * 1e9));
        }
        return fromTask.or(() -> fromConfig).orElse(null);
    }

    /** Sends a message that cannot run to the dead-letter queue and keeps going (consumer thread). */
    private void reject(Delivery d, @Nullable TaskRequest request, String reason) {
        try {
            broker.deadLetter(d, reason);
        } catch (RuntimeException e) {
            log.error("Could not move a message from queue '{}'{} to the dead-letter queue ({}); it goes back to its "
                    + "queue and is tried again", d.queue(),
                    request == null ? "" : " " + request.task() + "[" + request.id() + "]", e.toString());
            giveBack(d);
            return;
        }
        settledFine();
        window.settle(1);
        outcomes.logRejected(d, request, reason);
    }
}
