package io.celeriac.worker;

import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Delivery;

import java.util.ArrayList;
import java.util.List;

/**
 * Acks (and, where the broker stores results itself, the results that precede them) on their way from the
 * {@link Completer} to the {@link Consumer}, which writes them with its next reserve ({@code Broker.ackAndReserve},
 * {@code Broker.storeAckAndReserve}: on Redis one script call for result, ack and next fetch). With acks late every
 * message keeps its prefetch permit until its ack is written, so a worker with a backlog turned every task into three
 * round trips in a row (result, ack, reserve); this folds them into one. Early acks (Celery's default) come this way
 * too: the reserve that uses their permits writes them first, and so do the results of tasks acked early, where the
 * broker stores them.
 *
 * <p>Only while the consumer turns around without blocking (it has a backlog) does it accept them: before a reserve
 * that may wait for messages it stops accepting and takes what was handed over into that very call, which writes
 * them first. So an ack or result never waits for a quiet queue; the completer writes the ones refused here itself.
 */
final class AckHandoff {
    /**
     * A task's last write handed over: the result to store (null: none), then the ack (null: acked early), which
     * holds a prefetch permit; {@code task} is the task's delivery, for the record of a result the broker refuses.
     */
    record Finished(Delivery ack, ResultDocument result, Delivery task) {
    }

    /** How many of {@code finished} hold a prefetch permit: those with an ack. */
    static int permits(List<Finished> finished) {
        int n = 0;
        for (Finished f : finished) {
            n += f.ack() != null ? 1 : 0;
        }
        return n;
    }

    private final List<Finished> pending = new ArrayList<>();
    private boolean accepting;

    /**
     * Hands acks, each with the result to store before it if any, to the consumer if it accepts them now;
     * {@code release} (giving their permits back for the consumer's next reserve) runs before the consumer can take
     * them. False: write them yourself.
     */
    synchronized boolean offer(List<Finished> finished, Runnable release) {
        if (!accepting) {
            return false;
        }
        pending.addAll(finished);
        release.run();
        return true;
    }

    /** Takes what was handed over so far; {@code acceptMore} says whether more may be handed over from now on. */
    synchronized List<Finished> take(boolean acceptMore) {
        accepting = acceptMore;
        if (pending.isEmpty()) {
            return List.of();
        }
        List<Finished> out = new ArrayList<>(pending);
        pending.clear();
        return out;
    }
}
