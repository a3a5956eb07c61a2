package io.celeriac.worker;

import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes what finished tasks leave behind, in batches: retry messages, result documents, acks. One thread drains
 * whatever accumulated and does each kind in one broker/backend call, so at high rates many tasks share a round trip
 * while a lone task is written at once.
 *
 * <p>Order within a batch is the guarantee acks-late rests on: a retry is published, then results are stored, and
 * only then are the original messages acked. A crash before the ack redelivers the message; it never loses it.
 * If the broker or backend is down, the batch is retried until it goes through.
 */
final class Completer {
    private static final Logger log = LoggerFactory.getLogger(Completer.class);
    private static final int MAX_BATCH = 1000;

    record Item(OutboundMessage publish, ResultDocument result, Delivery ack, String release) {
    }

    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final Broker broker;
    private final ResultBackend backend;
    private final Thread thread;
    private final AtomicLong pending = new AtomicLong();
    private volatile boolean stopping;

    Completer(Broker broker, ResultBackend backend, String name) {
        this.broker = broker;
        this.backend = backend;
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    void add(OutboundMessage publish, ResultDocument result, Delivery ack) {
        add(publish, result, ack, null);
    }

    /** @param release a unique task's key to delete once the rest is written, or null */
    void add(OutboundMessage publish, ResultDocument result, Delivery ack, String release) {
        if (publish == null && result == null && ack == null && release == null) {
            return;
        }
        pending.incrementAndGet();
        queue.add(new Item(publish, result, ack, release));
    }

    /** Items accepted but not yet written. */
    long pending() {
        return pending.get();
    }

    private void loop() {
        List<Item> batch = new ArrayList<>();
        while (true) {
            try {
                Item first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (stopping) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, MAX_BATCH - 1);
                write(batch);
                pending.addAndGet(-batch.size());
                batch.clear();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void write(List<Item> batch) throws InterruptedException {
        List<OutboundMessage> publishes = new ArrayList<>();
        List<ResultDocument> results = new ArrayList<>();
        List<Delivery> acks = new ArrayList<>();
        List<String> releases = new ArrayList<>();
        for (Item i : batch) {
            if (i.release != null) {
                releases.add(i.release);
            }
            if (i.publish != null) {
                publishes.add(i.publish);
            }
            if (i.result != null) {
                results.add(i.result);
            }
            if (i.ack != null) {
                acks.add(i.ack);
            }
        }
        int step = 0;
        long backoff = 100;
        while (true) {
            try {
                if (step == 0) {
                    if (!publishes.isEmpty()) {
                        broker.publish(publishes);
                    }
                    step = 1;
                }
                if (step == 1) {
                    if (!results.isEmpty()) {
                        backend.store(results);
                    }
                    step = 2;
                }
                if (step == 2) {
                    if (!acks.isEmpty()) {
                        broker.ack(acks);
                    }
                    step = 3;
                }
                // A unique task's key goes last: until its result is stored, a second send is still dropped.
                for (String key : releases) {
                    broker.forgetOnce(key);
                }
                return;
            } catch (RuntimeException e) {
                log.warn("Could not write {} finished task(s) ({}), retrying in {} ms: {}", batch.size(),
                        step == 0 ? "publishing retries" : step == 1 ? "storing results" : step == 2 ? "acking"
                                : "releasing unique keys", backoff,
                        e.toString());
                Thread.sleep(backoff);
                backoff = Math.min(5000, backoff * 2);
            }
        }
    }

    /** Writes what is queued, waiting up to the deadline, then stops the thread. */
    void stop(long deadlineNanos) {
        stopping = true;
        while (pending.get() > 0 && System.nanoTime() < deadlineNanos) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (pending.get() > 0) {
            log.warn("{} finished task(s) not written at shutdown; their messages stay unacked and will be "
                    + "redelivered", pending.get());
        }
        thread.interrupt();
    }
}
