package io.celeriac.cli;

import io.celeriac.worker.Worker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Celery's signal semantics for {@code celeriac worker}: the first SIGTERM (or Ctrl-C) starts a warm shutdown; a
 * second one, or SIGQUIT where the JVM lets us have it, a cold one. Handled here rather than in a shutdown hook
 * because a hook cannot tell the first signal from the second.
 */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private Signals() {
    }

    static void install(Worker worker, Duration grace) {
        AtomicInteger received = new AtomicInteger();
        sun.misc.SignalHandler handler = sig -> {
            boolean cold = received.incrementAndGet() > 1 || sig.getName().equals("QUIT");
            if (cold) {
                log.warn("{}: SIG{} received again: cold shutdown", worker.hostname(), sig.getName());
                new Thread(worker::shutdownNow, "celeriac-cold-shutdown").start();
            } else {
                log.info("{}: SIG{} received: warm shutdown (send it again for cold)", worker.hostname(),
                        sig.getName());
                new Thread(() -> worker.shutdown(grace), "celeriac-warm-shutdown").start();
            }
        };
        for (String name : new String[] {"TERM", "INT", "QUIT"}) {
            try {
                Signal.handle(new Signal(name), handler);
            } catch (IllegalArgumentException e) {
                // The JVM keeps SIGQUIT for thread dumps unless started with -Xrs; a second SIGTERM is cold too.
                log.debug("SIG{} stays with the JVM: {}", name, e.getMessage());
            }
        }
    }
}
