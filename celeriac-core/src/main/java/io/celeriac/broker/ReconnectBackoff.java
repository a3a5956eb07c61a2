package io.celeriac.broker;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.function.Supplier;

/**
 * For long-running processes other than the worker (beat, the dashboard, {@code celeriac events}) that must start
 * and carry on while the broker is down: waits 1, 2, 4, then 5 s between attempts, and logs one line per failed
 * attempt that says what cannot be reached, why, and when the next attempt is:
 * {@code Cannot reach the broker at redis://redis:6379/0 (Connection refused: redis/10.0.0.7:6379); retrying in 2 s}.
 *
 * <p>The cap is low because these processes have nothing else to do while they wait, and a beat that waited long
 * would send its ticks late; Lettuce itself reconnects within a second of Redis answering.
 */
public final class ReconnectBackoff {
    static final Duration FIRST = Duration.ofSeconds(1);
    static final Duration MAX = Duration.ofSeconds(5);

    private final Logger log;
    private int failures;
    private long failingSince;
    private String lastFailed;

    /** @param log where the lines go: the component's own logger, so they read as that component's */
    public ReconnectBackoff(Logger log) {
        this.log = log;
    }

    /**
     * Records a failed attempt and logs it.
     *
     * @param what what could not be reached, e.g. {@code "the broker at " + redact(url)}
     * @return how long to wait before the next attempt
     */
    public synchronized Duration failed(String what, Throwable e) {
        if (failures == 0) {
            failingSince = System.nanoTime();
        }
        Duration wait = delay(failures);
        failures++;
        lastFailed = what;
        log.warn("Cannot reach {} ({}); retrying in {} s", what, reason(e), wait.toSeconds());
        return wait;
    }

    /** Records a successful attempt; after failures, logs that what failed last answers now. */
    public synchronized void succeeded() {
        if (failures > 0) {
            long seconds = Math.round((System.nanoTime() - failingSince) / 1e9);
            log.info("Reached {} after {} failed attempt{} ({} s)", lastFailed, failures, failures == 1 ? "" : "s",
                    seconds);
            failures = 0;
        }
    }

    /** True between a failed attempt and the next successful one. */
    public synchronized boolean failing() {
        return failures > 0;
    }

    /** The wait after the {@code n}-th failure in a row (0-based): 1, 2, 4, 5, 5, ... s. */
    static Duration delay(int n) {
        Duration d = n >= 3 ? MAX : FIRST.multipliedBy(1L << n);
        return d.compareTo(MAX) > 0 ? MAX : d;
    }

    /** Runs {@code step} until it returns, waiting between failed attempts (any runtime exception is a failure). */
    public <T> T retry(String what, Supplier<T> step) throws InterruptedException {
        while (true) {
            try {
                T v = step.get();
                succeeded();
                return v;
            } catch (RuntimeException e) {
                Thread.sleep(failed(what, e).toMillis());
            }
        }
    }

    /**
     * Why, in a few words: the innermost cause's message, or the one around it that only adds to its end ("Connection
     * refused: /127.0.0.1:6379" rather than the bare "Connection refused" below it or the wrapping above it).
     */
    public static String reason(Throwable e) {
        java.util.List<Throwable> chain = new java.util.ArrayList<>();
        for (Throwable t = e; t != null && !chain.contains(t); t = t.getCause()) {
            chain.add(t);
        }
        String reason = null;
        for (int i = chain.size() - 1; i >= 0; i--) {
            String m = chain.get(i).getMessage();
            if (m == null) {
                continue;
            }
            if (reason == null || m.startsWith(reason)) {
                reason = m;
            } else {
                break;
            }
        }
        if (reason == null) {
            return e.getClass().getSimpleName();
        }
        // Netty's native transport (epoll) names the system call before the error the JDK's sockets report alone
        // ("finishConnect(..) failed with error(-111): Connection refused"): the same reason reads the same either way.
        return NATIVE_CALL.matcher(reason).replaceFirst("");
    }

    private static final java.util.regex.Pattern NATIVE_CALL =
            java.util.regex.Pattern.compile("^\\w+\\(\\.\\.\\) failed with error\\(-?\\d+\\): ");

    /** A broker URL fit for a log: {@code redis://:secret@host/0} becomes {@code redis://***@host/0}. */
    public static String redact(String url) {
        return url.replaceAll("://[^/@]*@", "://***@");
    }
}
