package io.celeriac.cli;

import java.io.PrintStream;
import java.util.function.Supplier;

/**
 * A one-line progress display for long waits, drawn on stderr only when a terminal is attached (so scripts and
 * pipes see clean output).
 */
final class Progress implements AutoCloseable {
    private static final char[] SPIN = {'|', '/', '-', '\\'};

    private final PrintStream out = System.err;
    private final boolean enabled = System.console() != null;
    private final Thread thread;
    private volatile boolean done;

    private Progress(String label, Supplier<String> status) {
        long start = System.nanoTime();
        this.thread = new Thread(() -> {
            int i = 0;
            while (!done) {
                double secs = (System.nanoTime() - start) / 1e9;
                out.printf("\r%c %s %.1fs %s   ", SPIN[i++ % SPIN.length], label, secs, status.get());
                out.flush();
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "celeriac-progress");
        this.thread.setDaemon(true);
    }

    /** Starts showing {@code label}, elapsed time and {@code status}; a no-op without a terminal. */
    static Progress show(String label, Supplier<String> status) {
        Progress p = new Progress(label, status);
        if (p.enabled) {
            p.thread.start();
        }
        return p;
    }

    @Override
    public void close() {
        done = true;
        if (enabled) {
            thread.interrupt();
            out.print("\r\033[K");
            out.flush();
        }
    }
}
