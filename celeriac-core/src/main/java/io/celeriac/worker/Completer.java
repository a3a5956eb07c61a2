package io.celeriac.worker;

import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.backend.ResultCodec;
import io.celeriac.backend.TaskState;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Writes what finished tasks leave behind, in batches: retry messages, result documents, acks and dead letters. One
 * thread drains whatever accumulated and does each kind in one broker/backend call, so at high rates many tasks share
 * a round trip while a lone task is written at once.
 *
 * <p>Order within a batch is the guarantee acks-late rests on: a retry is published, then results are stored, and
 * only then are the original messages acked (or dead-lettered). A crash before the ack redelivers the message; it
 * never loses it. Acks that wait for nothing (acks early, sent as a task starts) go first, and are sent even while a
 * store is being retried, so that a backend outage does not hold back the acks-early ack Celery sends at the start.
 * Such an ack gives its message's prefetch permit back as soon as it is written, as Celery's prefetch counts only
 * unacked messages; the task's result follows later and settles nothing.
 *
 * <p>Errors are of two kinds. A broker or backend that cannot be reached ({@link BrokerUnavailableException},
 * {@link ResultBackendUnavailableException}) is waited for: the step is retried with backoff until it goes through,
 * and meanwhile the worker takes no new work: an acks-late task holds its prefetch permit until its {@link Item} is
 * written (the {@code settled} callback), and the results of acks-early tasks fill this bounded queue. Anything else is a refusal of something in the batch, which no retry would
 * cure: the step is split in halves until the refused item is alone, the rest is written, and the refused item is
 * dealt with on its own (a refused result becomes a FAILURE saying why; if that is refused too, the message goes to
 * the dead-letter queue with the reason). One bad document never stops the acks of the others.
 */
final class Completer {
    private static final Logger log = LoggerFactory.getLogger(Completer.class);
    private static final int MAX_BATCH = 1000;
    /**
     * Queued items are bounded by the prefetch window (each task holds a permit until its last item is written) except
     * progress updates a running task sends; the bound keeps those from growing the heap during a backend outage
     * (the task waits in {@code update_state}, as it would in Celery, whose backend call is synchronous).
     */
    static final int CAPACITY = 10_000;
    /**
     * Batches of final results stored at once ({@link ResultBackend#storeAsync}): with one, the store's round trip
     * and the broker's (the ack, then the next delivery) took turns on every acks-late message's path.
     */
    private static final int MAX_STORING = 4;

    /**
     * What one task leaves to write. Fields other than {@code publish}, {@code release} and {@code message} are
     * changed by the completer thread alone when something is refused.
     */
    static final class Item {
        final @Nullable OutboundMessage publish;
        @Nullable ResultDocument result;
        @Nullable Delivery ack;
        @Nullable Delivery deadLetter;
        @Nullable String reason;
        final @Nullable String release;
        /** The task's delivery when this is its last item, else null. */
        final @Nullable Delivery task;
        /**
         * The delivery whose prefetch permit this item gives back once written (a task's last item, unless its early
         * ack gave the permit back; or that early ack), else null. Cleared when the permit is given back.
         */
        @Nullable Delivery permit;
        /** Acked in the batch's first step, ahead of the results. */
        boolean ackedFirst;
        /** Callbacks, next chain step or errbacks to send, and chain steps' FAILUREs to store (canvas). */
        CanvasSteps.FollowUps followUps = CanvasSteps.FollowUps.NONE;
        /** Chord parts to count once the results are stored. */
        List<CanvasSteps.ChordPart> chordParts = List.of();
        /**
         * Handed to the consumer once already and given back (the broker refused the combined write): written here,
         * and its ack then tells the window that a handed-over ack is written.
         */
        boolean givenBack;
        /** Given back with an ack whose permit went back when it was handed over: the window hears when it is written. */
        boolean permitHandedOver;

        Item(@Nullable OutboundMessage publish, @Nullable ResultDocument result, @Nullable Delivery ack,
             @Nullable Delivery deadLetter, @Nullable String reason, @Nullable String release, @Nullable Delivery task,
             @Nullable Delivery permit) {
            this.publish = publish;
            this.result = result;
            this.ack = ack;
            this.deadLetter = deadLetter;
            this.reason = reason;
            this.release = release;
            this.task = task;
            this.permit = permit;
        }

        String id() {
            return result != null ? result.taskId() : publish != null ? publish.taskId() : "?";
        }
    }

    /** Put in the queue when a batch under way is stored, to wake this thread; not an item to write. */
    private static final Item WAKE = new Item(null, null, null, null, null, null, null, null);

    /** A batch whose results are being stored: the rest of its writes follow once they are. */
    private record Storing(List<Item> batch, List<Item> results, CompletableFuture<Void> stored) {
    }

    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>(CAPACITY);
    /** Batches under way, oldest first; the completer thread's alone. */
    private final ArrayDeque<Storing> storing = new ArrayDeque<>();
    /** Items taken from the queue while a step waited for the broker or backend; they open the next batch. */
    private final ArrayDeque<Item> carried = new ArrayDeque<>();
    private final Broker broker;
    private final ResultBackend backend;
    private final Clock clock;
    private final IntConsumer settled;
    private final CanvasSteps canvas;
    private final HandOff handOff;
    private final boolean brokerStoresResults;
    private final IntConsumer givenBackAcked;
    private final Thread thread;
    private final AtomicLong pending = new AtomicLong();
    private volatile boolean stopping;

    /** Hands results and acks to the consumer, to write with its next reserve ({@link AckHandoff}). */
    interface HandOff {
        /** Takes acks, each holding a prefetch permit, with the results to store first; false (refused): written here. */
        boolean offer(List<AckHandoff.Finished> finished);
    }

    /**
     * @param settled told, on the completer thread, how many tasks' last items were just written
     * @param handOff takes acks for the consumer to write with its next reserve, or refuses them (false: written
     *     here): the final acks of a batch once the results before them are stored; early acks at once; and, where
     *     {@code brokerStoresResults}, a plain task's result and ack together
     * @param brokerStoresResults the broker stores this backend's results with its acks in one round trip
     *     ({@code Broker.storesResultsOf})
     * @param givenBackAcked told how many acks the consumer gave back ({@link #giveBack}) were written here
     */
    Completer(Broker broker, ResultBackend backend, Clock clock, IntConsumer settled, HandOff handOff,
              boolean brokerStoresResults, IntConsumer givenBackAcked, CanvasSteps canvas, String name) {
        this.broker = broker;
        this.canvas = canvas;
        this.handOff = handOff;
        this.brokerStoresResults = brokerStoresResults;
        this.givenBackAcked = givenBackAcked;
        this.backend = backend;
        this.clock = clock;
        this.settled = settled;
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** An intermediate write (an early ack, a STARTED or progress state): settles nothing. */
    void add(@Nullable OutboundMessage publish, @Nullable ResultDocument result, @Nullable Delivery ack) {
        if (publish == null && result == null && ack == null) {
            return;
        }
        enqueue(new Item(publish, result, ack, null, null, null, null, null));
    }

    /**
     * The ack sent as a task starts (acks early). Once it is written the message's prefetch permit is given back:
     * the message left the window, as Celery's prefetch counts unacked messages, so the consumer may reserve the next
     * one while this task still runs (running tasks are bounded by the pool, not the window).
     */
    void ackEarly(Delivery d) {
        Item item = new Item(null, null, d, null, null, null, null, d);
        if (!handOverNow(item)) {
            enqueue(item);
        }
    }

    /**
     * A task's last write. Once it is written the prefetch permit of {@code task} goes back, unless
     * {@code permitGone} says its early ack gave it back already. {@code ack} and {@code deadLetter} are the delivery
     * to settle (at most one of them; both null when it was acked early).
     */
    void finish(Delivery task, boolean permitGone, @Nullable OutboundMessage publish, @Nullable ResultDocument result,
                @Nullable Delivery ack, @Nullable Delivery deadLetter, @Nullable String reason,
                @Nullable String release) {
        finish(task, permitGone, publish, result, ack, deadLetter, reason, release, CanvasSteps.FollowUps.NONE,
                List.of());
    }

    /**
     * As above, with what the task's workflow sends next ({@code followUps}: published with any retry, before the
     * results) and the chord parts to count (after the results, before the ack).
     */
    void finish(Delivery task, boolean permitGone, @Nullable OutboundMessage publish, @Nullable ResultDocument result,
                @Nullable Delivery ack, @Nullable Delivery deadLetter, @Nullable String reason,
                @Nullable String release, CanvasSteps.FollowUps followUps, List<CanvasSteps.ChordPart> chordParts) {
        finish(task, permitGone, publish, result, ack, deadLetter, reason, release, followUps, chordParts, false);
    }

    /**
     * As above; {@code nothingQueued}: no earlier write of this task (a STARTED or progress state) may still be
     * queued here, so a plain result and ack may go to the consumer straight from the calling thread.
     */
    void finish(Delivery task, boolean permitGone, @Nullable OutboundMessage publish, @Nullable ResultDocument result,
                @Nullable Delivery ack, @Nullable Delivery deadLetter, @Nullable String reason,
                @Nullable String release, CanvasSteps.FollowUps followUps, List<CanvasSteps.ChordPart> chordParts,
                boolean nothingQueued) {
        Item item = new Item(publish, result, ack, deadLetter, reason, release, task, permitGone ? null : task);
        item.followUps = followUps;
        item.chordParts = chordParts;
        if (!nothingQueued || !handOverNow(item)) {
            enqueue(item);
        }
    }

    /**
     * Hands an item that needs nothing written before it (see {@link #handOverFirst}) straight to the consumer, from
     * the task's own thread: one thread fewer on the way from a task's end to the reserve that writes its result and
     * ack, which is most of what acks late costs when tasks are short. False: it goes through the queue.
     */
    private boolean handOverNow(Item i) {
        if (!handsOver(i) || !handOff.offer(List.of(new AckHandoff.Finished(i.ack, i.result, i.task)))) {
            return false;
        }
        i.permit = null;
        return true;
    }

    /** An item the consumer may write with its next reserve: nothing has to be written before it. */
    private boolean handsOver(Item i) {
        if (i.givenBack) {
            return false;
        }
        if (i.permit != null) {
            return ackOnly(i) || brokerStoresResults && plainFinish(i);
        }
        // The last result of a task acked early: no permit, nothing to ack.
        return brokerStoresResults && i.task != null && i.ack == null && plainResult(i);
    }

    /**
     * Results and acks the consumer took from the handoff and the broker refused to write together: written here
     * the careful way (a refused result becomes a FAILURE, and so on), never handed over again. Their permits went back
     * when they were handed over.
     */
    void giveBack(List<AckHandoff.Finished> finished) {
        for (AckHandoff.Finished f : finished) {
            Item item = new Item(null, f.result(), f.ack(), null, null, null, f.task(), null);
            item.givenBack = true;
            item.permitHandedOver = f.ack() != null;
            enqueue(item);
        }
    }

    private void enqueue(Item item) {
        if (queue.offer(item)) {
            pending.incrementAndGet();
            return;
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (queue.offer(item, 100, TimeUnit.MILLISECONDS)) {
                        pending.incrementAndGet();
                        return;
                    }
                } catch (InterruptedException e) {
                    // A soft time limit interrupts the task's thread; the write must not be lost for it.
                    interrupted = true;
                }
                if (stopping) {
                    log.warn("Result of {} not written: the worker is stopping; its message stays unacked and will "
                            + "be redelivered", item.id());
                    return;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Items accepted but not yet written. */
    long pending() {
        return pending.get();
    }

    private void loop() {
        List<Item> batch = new ArrayList<>();
        while (true) {
            try {
                finishStored(false);
                if (carried.isEmpty()) {
                    Item first = queue.poll(100, TimeUnit.MILLISECONDS);
                    if (first == WAKE) {
                        continue;
                    }
                    if (first == null) {
                        if (stopping && storing.isEmpty()) {
                            return;
                        }
                        continue;
                    }
                    batch.add(first);
                } else {
                    batch.addAll(carried);
                    carried.clear();
                }
                queue.drainTo(batch, Math.max(0, MAX_BATCH - batch.size()));
                batch.removeIf(i -> i == WAKE);
                int underWay = write(batch);
                pending.addAndGet(underWay - batch.size());
                batch.clear();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Writes what follows the results of the batches under way whose results are stored, in any order (they hold
     * final results of distinct tasks, so none depends on another); with {@code all}, waits for every one. A batch
     * whose store failed is stored again the careful way first.
     */
    private void finishStored(boolean all) throws InterruptedException {
        for (java.util.Iterator<Storing> it = storing.iterator(); it.hasNext(); ) {
            Storing s = it.next();
            if (!all && !s.stored().isDone()) {
                continue;
            }
            boolean stored;
            try {
                s.stored().get();
                stored = true;
            } catch (ExecutionException e) {
                stored = false;
            }
            it.remove();
            if (!stored) {
                step(s.results(), l -> backend.store(documents(l)), this::resultRefused, "storing results");
            }
            writeAfterResults(s.batch());
            pending.addAndGet(-s.batch().size());
        }
    }

    /** Waits until one of the batches under way is stored (or failed), and finishes those that are. */
    private void finishOneStored() throws InterruptedException {
        try {
            CompletableFuture.anyOf(storing.stream().map(Storing::stored).toArray(CompletableFuture[]::new)).get();
        } catch (ExecutionException e) {
            // That one failed: finishStored stores it again.
        }
        finishStored(false);
    }

    /** Gives back the permits of the written {@code items} that hold one; each only once. */
    private void settle(List<Item> items) {
        int n = 0;
        for (Item i : items) {
            if (i.permit != null) {
                i.permit = null;
                n++;
            }
        }
        if (n > 0) {
            settled.accept(n);
        }
    }

    /** An item that is only an ack: nothing has to be written before it. */
    private static boolean ackOnly(Item i) {
        return i.ack != null && i.publish == null && i.result == null && i.deadLetter == null && i.release == null;
    }

    /**
     * Hands the consumer, for its next reserve, what needs nothing written before it: early acks, final acks without a
     * result and, where the broker stores this backend's results with its acks, a plain task's result and its ack
     * (one round trip for result, ack and next fetch instead of three). Returns what is left to write here: all of it
     * if the consumer does not take them now.
     */
    private List<Item> handOverFirst(List<Item> all) {
        // A task's earlier state (STARTED, progress) in this batch is stored here: its last result must not overtake
        // it, so it stays here too.
        java.util.Set<String> storedHere = new java.util.HashSet<>();
        for (Item i : all) {
            if (i.result != null && !handsOver(i)) {
                storedHere.add(i.result.taskId());
            }
        }
        List<Item> handed = new ArrayList<>();
        List<Item> rest = new ArrayList<>(all.size());
        for (Item i : all) {
            if (handsOver(i) && (i.result == null || !storedHere.contains(i.result.taskId()))) {
                handed.add(i);
            } else {
                rest.add(i);
            }
        }
        if (handed.isEmpty() || !handOff.offer(map(handed, i -> new AckHandoff.Finished(i.ack, i.result, i.task)))) {
            return all;
        }
        for (Item i : handed) {
            // The consumer gives the permit back once it has written the ack.
            i.permit = null;
        }
        return rest;
    }

    /** A task's last item that is a result and an ack and nothing else: the broker may write both in one step. */
    private static boolean plainFinish(Item i) {
        return i.ack != null && i.task != null && plainResult(i);
    }

    private static boolean plainResult(Item i) {
        return i.result != null && i.publish == null && i.deadLetter == null && i.release == null
                && i.followUps.isEmpty() && i.chordParts.isEmpty();
    }

    /** Writes a batch; returns how many of its items are still under way (see {@link #storing}). */
    private int write(List<Item> all) throws InterruptedException {
        List<Item> batch = handOverFirst(all);
        if (batch.isEmpty()) {
            return 0;
        }
        List<Item> early = new ArrayList<>();
        List<Item> publishes = new ArrayList<>();
        List<Item> followUps = new ArrayList<>();
        for (Item i : batch) {
            if (ackOnly(i)) {
                i.ackedFirst = true;
                early.add(i);
            }
            if (i.publish != null) {
                publishes.add(i);
            }
            if (!i.followUps.chordSizes().isEmpty() || !i.followUps.messages().isEmpty()) {
                followUps.add(i);
            }
        }
        step(early, l -> broker.ack(map(l, i -> i.ack)), this::ackRefused, "acking");
        // Acked early (Celery's default), these messages left the window: their permits go back now, ahead of any
        // result. Holding them until the task ended, or until its result was stored, halved the consumer's reserve
        // batches and cost the acks-early drain a sixth to a third of its rate. The results wait in this bounded
        // queue, so a backend outage stops the worker once the queue is full.
        settle(early);
        step(publishes, l -> broker.publish(map(l, i -> i.publish)), this::publishRefused, "publishing retries");
        // Callbacks and next chain steps go out before the result is stored, as in Celery's worker: a crash in
        // between sends them again on redelivery (same task ids), never not at all.
        step(followUps, l -> canvas.publish(map(l, i -> i.followUps)), this::followUpsRefused,
                "sending workflow steps");
        // Collected after the publishes: a refused retry turns into a FAILURE to store.
        List<Item> results = new ArrayList<>();
        for (Item i : batch) {
            if (i.result != null || !i.followUps.documents().isEmpty()) {
                results.add(i);
            }
        }
        if (!results.isEmpty() && onlyFinalResultsAndAcks(batch)) {
            if (storing.size() >= MAX_STORING) {
                finishOneStored();
            }
            CompletableFuture<Void> stored = backend.storeAsync(documents(results));
            stored.whenComplete((x, e) -> queue.offer(WAKE));
            // A copy: the batch may be the caller's list, which it clears for the next one.
            storing.add(new Storing(new ArrayList<>(batch), results, stored));
            return batch.size();
        }
        // Anything else keeps its order after the batches under way: a STARTED state stored again after a failed
        // store must not replace a final result stored meanwhile.
        finishStored(true);
        step(results, l -> backend.store(documents(l)), this::resultRefused, "storing results");
        writeAfterResults(batch);
        return 0;
    }

    /**
     * A batch whose results may be stored while later batches are: only final results of plain tasks, each with its
     * ack or acked early (no retry, workflow step, chord part, dead letter or unique key).
     */
    private static boolean onlyFinalResultsAndAcks(List<Item> batch) {
        for (Item i : batch) {
            if (i.publish != null || !i.followUps.isEmpty() || !i.chordParts.isEmpty() || i.deadLetter != null
                    || i.release != null || i.givenBack || (i.result != null && i.task == null)) {
                return false;
            }
        }
        return true;
    }

    /** What follows a batch's results: chord parts, then acks and dead letters, then unique keys; settles it. */
    private void writeAfterResults(List<Item> batch) throws InterruptedException {
        List<Item> chordParts = new ArrayList<>();
        for (Item i : batch) {
            if (!i.chordParts.isEmpty()) {
                chordParts.add(i);
            }
        }
        // A chord part counts once its result is stored (Celery's on_chord_part_return follows the store), and
        // before its message is acked: a crash in between counts it again on redelivery, which replaces its record.
        step(chordParts, l -> l.forEach(i -> i.chordParts.forEach(canvas::join)), this::joinRefused,
                "counting chord parts");

        List<Item> acks = new ArrayList<>();
        List<Item> deadLetters = new ArrayList<>();
        boolean givenBack = false;
        for (Item i : batch) {
            givenBack |= i.givenBack;
            if (i.deadLetter != null) {
                deadLetters.add(i);
            } else if (i.ack != null && !i.ackedFirst) {
                acks.add(i);
            }
        }
        if (!acks.isEmpty() && !givenBack
                && handOff.offer(map(acks, i -> new AckHandoff.Finished(i.ack, null, i.task)))) {
            // The consumer writes these acks with its next reserve and settles their messages then.
            for (Item i : acks) {
                i.permit = null;
            }
        } else {
            step(acks, l -> broker.ack(map(l, i -> i.ack)), this::ackRefused, "acking");
        }
        for (Item i : deadLetters) {
            step(List.of(i), l -> broker.deadLetter(i.deadLetter, i.reason), this::deadLetterRefused,
                    "dead-lettering");
        }
        // A unique task's key goes last: until its result is stored, a second send is still dropped.
        for (Item i : batch) {
            if (i.release != null) {
                step(List.of(i), l -> broker.onceDispatch().ifPresent(once -> once.forget(i.release)),
                        (x, e) -> log.error("Could not release the unique key of {} ({}); it expires by itself",
                                x.id(), e.toString()),
                        "releasing unique keys");
            }
        }
        settle(batch);
        int back = 0;
        for (Item i : batch) {
            back += i.permitHandedOver ? 1 : 0;
        }
        if (back > 0) {
            givenBackAcked.accept(back);
        }
    }

    /**
     * Runs {@code op} on {@code items}: retried while the broker or backend is unreachable; on a refusal split in
     * halves until the refused item is alone, which goes to {@code refused}.
     */
    private void step(List<Item> items, Consumer<List<Item>> op, BiConsumer<Item, RuntimeException> refused,
                      String what) throws InterruptedException {
        if (items.isEmpty()) {
            return;
        }
        long backoff = 100;
        while (true) {
            try {
                op.accept(items);
                return;
            } catch (RuntimeException e) {
                if (!isUnavailable(e)) {
                    if (items.size() == 1) {
                        refused.accept(items.get(0), e);
                        return;
                    }
                    int half = items.size() / 2;
                    step(items.subList(0, half), op, refused, what);
                    step(items.subList(half, items.size()), op, refused, what);
                    return;
                }
                log.warn("Could not write {} finished task(s) ({}), retrying in {} ms: {}", items.size(), what,
                        backoff, e.toString());
                pause(backoff);
                backoff = Math.min(5000, backoff * 2);
            }
        }
    }

    /**
     * Waits before a retry, meanwhile sending acks that wait for nothing as they come in (they settle their tasks
     * at once when they are final). Other items taken on the way are carried to the next batch, at most one batch
     * of them, so the queue's bound still holds.
     */
    private void pause(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        List<Item> acks = new ArrayList<>();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return;
            }
            Item i;
            if (carried.size() < MAX_BATCH) {
                i = queue.poll(left, TimeUnit.NANOSECONDS);
            } else {
                Item head = queue.peek();
                i = head != null && (ackOnly(head) || head == WAKE) ? queue.poll() : null;
                if (i == null) {
                    Thread.sleep(Math.min(50, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))));
                    continue;
                }
            }
            if (i == null) {
                return;
            }
            if (i == WAKE) {
                continue;
            }
            if (!ackOnly(i)) {
                carried.add(i);
                continue;
            }
            acks.add(i);
            Item next = queue.peek();
            if (next == null || !ackOnly(next)) {
                ackWhileWaiting(acks);
                acks.clear();
            }
        }
    }

    private void ackWhileWaiting(List<Item> acks) {
        try {
            broker.ack(map(acks, i -> i.ack));
        } catch (RuntimeException e) {
            // Written with the next batch, as any other item.
            carried.addAll(acks);
            return;
        }
        pending.addAndGet(-acks.size());
        settle(acks);
        int back = (int) acks.stream().filter(i -> i.permitHandedOver).count();
        if (back > 0) {
            givenBackAcked.accept(back);
        }
    }

    private static List<ResultDocument> documents(List<Item> items) {
        List<ResultDocument> out = new ArrayList<>(items.size());
        for (Item i : items) {
            if (i.result != null) {
                out.add(i.result);
            }
            out.addAll(i.followUps.documents());
        }
        return out;
    }

    private void followUpsRefused(Item i, RuntimeException e) {
        String why = "the next steps of its workflow could not be sent (" + oneLine(e) + ")";
        log.error("The broker refused the callbacks or next chain step of {}: {}; the task is marked FAILURE instead",
                i.id(), oneLine(e));
        if (i.result != null) {
            i.result = notStored(i.result.taskId(), why).withReplyTo(i.result.replyTo());
        }
    }

    private void joinRefused(Item i, RuntimeException e) {
        log.error("Could not count the chord part {} ({}); the chord's body may not run", i.id(), oneLine(e));
    }

    private void ackRefused(Item i, RuntimeException e) {
        log.error("The broker refused the ack of {} ({}); its message stays unacked and will be redelivered", i.id(),
                e.toString());
    }

    /** Conditions that pass by themselves: worth waiting for. Everything else is a refusal. */
    static boolean isUnavailable(Throwable e) {
        return e instanceof BrokerUnavailableException || e instanceof ResultBackendUnavailableException;
    }

    private void publishRefused(Item i, RuntimeException e) {
        String why = "the retry message could not be published (" + oneLine(e) + ")";
        log.error("The broker refused the retry of {}: {}; the task is marked FAILURE instead", i.id(), oneLine(e));
        if (i.result != null || i.task != null) {
            i.result = notStored(i.publish.taskId(), why).withReplyTo(i.result == null ? null : i.result.replyTo());
        }
    }

    private void resultRefused(Item i, RuntimeException e) {
        if (i.task == null) {
            // A STARTED or progress state: the task's final state follows and is what the caller waits for.
            log.error("The result backend refused the {} state of {} ({}); it was dropped", i.result.status(),
                    i.id(), oneLine(e));
            i.result = null;
            return;
        }
        String why = "the " + i.result.status() + " result could not be stored (" + oneLine(e) + ")";
        log.error("The result backend refused the {} result of {}: {}; storing a FAILURE that says so",
                i.result.status(), i.id(), oneLine(e));
        i.result = notStored(i.result.taskId(), why).withReplyTo(i.result.replyTo());
        try {
            step(List.of(i), l -> backend.store(List.of(i.result)), (x, e2) -> {
                String reason = why + "; nor could a FAILURE in its place (" + oneLine(e2) + ")";
                log.error("The result backend refused the FAILURE of {} too ({}); its message goes to the dead-letter "
                        + "queue", x.id(), oneLine(e2));
                x.result = null;
                x.reason = x.reason == null ? reason : x.reason + "; " + reason;
                if (x.deadLetter == null) {
                    // Acks-late: dead-letter the delivery itself (that settles it); acked early: the broker keeps a
                    // record of it all the same.
                    x.deadLetter = x.ack != null ? x.ack : x.task;
                    x.ack = null;
                }
            }, "storing a FAILURE in place of a refused result");
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    private void deadLetterRefused(Item i, RuntimeException e) {
        // Nothing more can be done for this message: ack it rather than have it come back and loop.
        log.error("The broker refused to dead-letter {} ({}); reason was: {}. The message is acked and dropped",
                i.id(), oneLine(e), i.reason);
        try {
            step(List.of(i), l -> broker.ack(List.of(i.deadLetter)), (x, e2) -> log.error("Could not ack {} either "
                    + "({}); it will be redelivered", x.id(), oneLine(e2)), "acking");
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }

    /** The FAILURE stored in place of a result the backend refused: only what any backend can hold. */
    private ResultDocument notStored(String taskId, String why) {
        return new ResultDocument(taskId, TaskState.FAILURE,
                ResultCodec.exceptionResult("ResultNotStoredError", "io.celeriac.backend", why), null, List.of(),
                clock.instant(), null, Map.of());
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    private static <T> List<T> map(List<Item> items, java.util.function.Function<Item, T> f) {
        List<T> out = new ArrayList<>(items.size());
        for (Item i : items) {
            out.add(f.apply(i));
        }
        return out;
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
