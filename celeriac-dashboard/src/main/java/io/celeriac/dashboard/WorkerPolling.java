package io.celeriac.dashboard;

import io.celeriac.Celeriac;
import io.celeriac.control.ControlMessage;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * Asks every worker, every {@link #POLL_SECONDS} s, for its pool size and queues ({@code stats} and
 * {@code active_queues}): worker events don't carry them.
 */
final class WorkerPolling {
    /** How often workers are asked for {@code stats} and {@code active_queues}. */
    static final double POLL_SECONDS = 5;

    private final Celeriac app;
    private final WorkerRegistry workers;
    private final QueueSampling queues;
    private final DoubleSupplier now;

    WorkerPolling(Celeriac app, WorkerRegistry workers, QueueSampling queues, DoubleSupplier now) {
        this.app = app;
        this.workers = workers;
        this.queues = queues;
        this.now = now;
    }

    /** One poll; the queues workers name join those the dashboard watches. */
    void poll() {
        if (app.broker().controlBus().isEmpty()) {
            return;
        }
        Duration wait = Duration.ofSeconds(1);
        double now = this.now.getAsDouble();
        for (Map<String, Object> reply : app.controlBus("the dashboard's worker list").broadcastAndCollect(
                new ControlMessage("stats", Map.of(), List.of(), null, null), wait)) {
            reply.forEach((h, v) -> {
                if (v instanceof Map<?, ?> m) {
                    workers.applyStats(h, m, now, POLL_SECONDS);
                }
            });
        }
        for (Map<String, Object> reply : app.controlBus("the dashboard's worker list").broadcastAndCollect(
                new ControlMessage("active_queues", Map.of(), List.of(), null, null), wait)) {
            reply.forEach((h, v) -> {
                if (v instanceof List<?> l) {
                    workers.applyQueues(h, l);
                    l.forEach(q -> {
                        if (q instanceof Map<?, ?> m && m.get("name") != null) {
                            queues.add(String.valueOf(m.get("name")));
                        }
                    });
                }
            });
        }
    }
}
