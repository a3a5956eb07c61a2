package io.celeriac.worker;

import io.celeriac.broker.Delivery;

import java.util.ArrayList;
import java.util.List;

/**
 * Acks on their way from the {@link Completer} to the {@link Consumer}, which writes them with its next reserve
 * ({@code Broker.ackAndReserve}: on Redis one script call instead of an ack and a reserve). With acks late every
 * message keeps its prefetch permit until its ack is written, so a worker with a backlog turned every task into
 * three round trips in a row (result, ack, reserve); this folds the last two into one.
 *
 * <p>Only while the consumer turns around without blocking (it has a backlog) does it accept acks: before a reserve
 * that may wait for messages it stops accepting and takes what was handed over into that very call, which writes
 * them first. So an ack never waits for a quiet queue; the completer writes the ones refused here itself.
 */
final class AckHandoff {
    private final List<Delivery> pending = new ArrayList<>();
    private boolean accepting;

    /**
     * Hands acks to the consumer if it accepts them now; {@code release} (giving their permits back for the
     * consumer's next reserve) runs before the consumer can take them. False: write them yourself.
     */
    synchronized boolean offer(List<Delivery> acks, Runnable release) {
        if (!accepting) {
            return false;
        }
        pending.addAll(acks);
        release.run();
        return true;
    }

    /** Takes the acks handed over so far; {@code acceptMore} says whether more may be handed over from now on. */
    synchronized List<Delivery> take(boolean acceptMore) {
        accepting = acceptMore;
        if (pending.isEmpty()) {
            return List.of();
        }
        List<Delivery> out = new ArrayList<>(pending);
        pending.clear();
        return out;
    }
}
