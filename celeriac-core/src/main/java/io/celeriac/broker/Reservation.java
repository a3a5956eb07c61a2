package io.celeriac.broker;

import java.util.List;

/**
 * A reserve under way ({@link Broker#startStoreAckAndReserve}): the broker works on it while the caller works on the
 * messages it already has. {@link #await} is called once, on the thread that started it, and always (what the broker
 * reserved is the caller's to settle).
 */
@FunctionalInterface
public interface Reservation {
    /**
     * What the reserve took, once the broker answered; or the exception {@link Broker#storeAckAndReserve} would have
     * thrown, with the same meaning (unavailable: may or may not be written, nothing reserved; anything else: refused).
     */
    List<Delivery> await() throws InterruptedException;
}
