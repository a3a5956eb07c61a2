package io.celeriac.spring;

import io.celeriac.Celeriac;
import org.jspecify.annotations.Nullable;
import org.springframework.context.SmartLifecycle;

import java.util.LinkedHashMap;
import java.util.Map;

/** What both Actuator lines report: the broker answers, and the worker (if run here) is running. */
record HealthCheck(boolean up, Map<String, Object> details) {
    static HealthCheck of(Celeriac app, @Nullable SmartLifecycle worker) {
        String queue = app.config().defaultQueue();
        long waiting = app.broker().queueLength(queue); // throws when the broker is unreachable: DOWN
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("worker", worker == null ? "not run here" : worker.isRunning() ? "running" : "stopped");
        d.put("broker", app.config().brokerUrl().replaceAll("://[^@]*@", "://***@"));
        d.put("queue." + queue, waiting);
        d.put("tasks", app.registry().names().size());
        return new HealthCheck(worker == null || worker.isRunning(), d);
    }
}
