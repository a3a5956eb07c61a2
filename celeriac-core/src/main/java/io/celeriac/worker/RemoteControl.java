package io.celeriac.worker;

import io.celeriac.broker.Broker;
import io.celeriac.broker.ControlBus;
import io.celeriac.control.ControlMessage;
import io.celeriac.task.TaskRegistry;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Celery's remote control on this worker: subscribes to the broadcast, answers {@code inspect} ({@code ping},
 * {@code active}, {@code reserved}, {@code stats}, ...) with the replies Celery's workers give, and carries out
 * {@code control} commands (revoke, rate_limit, pool_grow/shrink, add/cancel_consumer, shutdown) through the
 * {@link Worker} facade.
 */
final class RemoteControl {
    private static final Logger log = LoggerFactory.getLogger("celeriac.worker");

    private final Worker worker;
    private final Broker broker;
    private final TaskRegistry registry;
    private final LongSupplier pid;
    private final Dispatcher dispatcher;
    private final TaskRunner runner;
    private final RevokedIds revoked;
    /** The subscription attempt whose listener handles control commands (see {@link #subscribe}). */
    private volatile int live;

    RemoteControl(Worker worker, Broker broker, TaskRegistry registry, LongSupplier pid, Dispatcher dispatcher,
                  TaskRunner runner, RevokedIds revoked) {
        this.worker = worker;
        this.broker = broker;
        this.registry = registry;
        this.pid = pid;
        this.dispatcher = dispatcher;
        this.runner = runner;
        this.revoked = revoked;
    }

    /**
     * Subscribes to remote control. A broker may register the listener before its subscribe fails (RedisBroker
     * does), so a retried subscription could leave an earlier listener behind: each attempt's listener acts only
     * while it is the live one, so no command is handled twice.
     */
    AutoCloseable subscribe() {
        int attempt = live + 1;
        live = attempt;
        ControlBus bus = broker.controlBus().orElse(null);
        if (bus == null) {
            log.info("The broker ({}) carries no remote control: this worker answers no inspect or control "
                    + "commands", broker.getClass().getSimpleName());
            return () -> { };
        }
        return bus.subscribe(worker.hostname(), m -> {
            if (live == attempt) {
                onControl(bus, m);
            }
        });
    }

    /**
     * Handles a broadcast command addressed to this worker and returns the reply Celery's workers give (null when
     * the command is not for this worker or unknown).
     */
    @Nullable Object control(ControlMessage m) {
        String hostname = worker.hostname();
        if (!m.isFor(hostname)) {
            return null;
        }
        Map<String, Object> a = m.arguments();
        switch (m.method()) {
            case "ping":
                return Map.of("ok", "pong");
            case "heartbeat":
                // Celery's worker sends the heartbeat and replies nothing (celery/worker/control.py, heartbeat).
                worker.requestHeartbeat();
                return null;
            case "hello":
                return Map.of("revoked", Map.of(), "clock", 0);
            case "active":
                return runner.activeRequests().stream().map(r -> info(r, true)).toList();
            case "reserved":
                return dispatcher.reservedRequests().stream().map(r -> info(r, false)).toList();
            case "scheduled":
                // ETA tasks are held by the broker, not by the worker, so a worker has none to report.
                return List.of();
            case "registered":
                return new ArrayList<>(registry.names());
            case "revoked":
                return revoked.list();
            case "stats":
                return stats();
            case "active_queues":
                return worker.queues().stream().map(q -> Map.<String, Object>of("name", q, "exchange",
                        Map.of("name", q, "type", "direct"), "routing_key", q)).toList();
            case "revoke":
            case "terminate": {
                // Celery's `terminate <signal> <id>` is revoke with terminate=True.
                Object ids = a.get("task_id");
                List<String> list = new ArrayList<>();
                if (ids instanceof Collection<?> c) {
                    c.forEach(x -> list.add(String.valueOf(x)));
                } else if (ids != null) {
                    list.add(String.valueOf(ids));
                }
                boolean terminate = m.method().equals("terminate") || Boolean.TRUE.equals(a.get("terminate"));
                List<String> running = list.stream().filter(runner::isActive).toList();
                worker.revoke(list, terminate);
                if (terminate) {
                    return Map.of("ok", running.isEmpty() ? "terminate: tasks unknown"
                            : "terminate: " + String.join(", ", running));
                }
                return Map.of("ok", "tasks " + String.join(", ", list) + " flagged as revoked");
            }
            case "rate_limit": {
                String task = String.valueOf(a.get("task_name"));
                Object rate = a.get("rate_limit");
                if (registry.find(task).isEmpty()) {
                    return Map.of("error", "unknown task " + task);
                }
                worker.setRateLimit(task, rate == null ? null : rate.toString());
                return Map.of("ok", "new rate limit set successfully");
            }
            case "pool_grow":
                worker.growPool(intArg(a.get("n")));
                return Map.of("ok", "pool will grow");
            case "pool_shrink":
                worker.shrinkPool(intArg(a.get("n")));
                return Map.of("ok", "pool will shrink");
            case "add_consumer":
                worker.addConsumer(String.valueOf(a.get("queue")));
                return Map.of("ok", "add consumer " + a.get("queue"));
            case "cancel_consumer":
                worker.cancelConsumer(String.valueOf(a.get("queue")));
                return Map.of("ok", "no longer consuming from " + a.get("queue"));
            case "shutdown":
                Thread t = new Thread(() -> worker.shutdown(Duration.ofSeconds(30)), "celeriac-remote-shutdown");
                t.setDaemon(false);
                t.start();
                return Map.of("ok", "shutting down");
            default:
                return null;
        }
    }

    private static int intArg(@Nullable Object v) {
        return v == null ? 1 : ((Number) (v instanceof Number ? v : Integer.parseInt(v.toString()))).intValue();
    }

    private void onControl(ControlBus bus, ControlMessage m) {
        String hostname = worker.hostname();
        try {
            Object answer = control(m);
            if (answer != null && m.replyTo() != null) {
                bus.reply(m, hostname, answer);
            }
        } catch (RuntimeException e) {
            log.warn("Control command {} failed: {}", m.method(), e.toString());
            if (m.replyTo() != null && m.isFor(hostname)) {
                bus.reply(m, hostname, Map.of("error", e.toString()));
            }
        }
    }

    /** A request as Celery's {@code inspect active/reserved} shows it. */
    private Map<String, Object> info(Request r, boolean running) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.message.id());
        m.put("name", r.message.task());
        m.put("args", r.message.args());
        m.put("kwargs", r.message.kwargs());
        m.put("type", r.message.task());
        m.put("hostname", worker.hostname());
        m.put("time_start", running && r.startedAt != null ? r.startedAt.toEpochMilli() / 1000.0 : null);
        m.put("acknowledged", running && !r.acksLate);
        Map<String, Object> delivery = new LinkedHashMap<>();
        delivery.put("exchange", r.message.exchange());
        delivery.put("routing_key", r.message.routingKey());
        delivery.put("priority", r.message.priority());
        delivery.put("redelivered", false);
        m.put("delivery_info", delivery);
        m.put("worker_pid", pid.getAsLong());
        return m;
    }

    /** Celery's {@code inspect stats} subset that tools read. */
    Map<String, Object> stats() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("total", runner.processed());
        m.put("pid", pid.getAsLong());
        m.put("uptime", Duration.between(worker.startedAt(), worker.clock().instant()).toSeconds());
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("max-concurrency", worker.concurrency());
        pool.put("implementation", "celeriac:" + worker.poolKind());
        pool.put("abandoned-threads", runner.abandoned());
        m.put("pool", pool);
        m.put("prefetch_count", worker.prefetchCount());
        m.put("broker", Map.of("transport", worker.brokerUrl().replaceAll("://.*", "")));
        m.put("sw_ident", "celeriac");
        return m;
    }
}
