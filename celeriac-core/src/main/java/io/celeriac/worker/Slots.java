package io.celeriac.worker;

import java.util.concurrent.Semaphore;

/** A semaphore whose permits can also be taken away (pool_shrink). */
final class Slots extends Semaphore {
    Slots(int permits) {
        super(permits);
    }

    void shrink(int n) {
        reducePermits(n);
    }
}
