package io.celeriac.spring;

import io.celeriac.Celeriac;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * Up when the broker answers and, if this application runs a worker, the worker is running; reports the default
 * queue's length and the registered tasks.
 */
public class CeleriacHealthIndicator extends AbstractHealthIndicator {
    private final Celeriac app;
    private final org.springframework.context.SmartLifecycle worker;

    public CeleriacHealthIndicator(Celeriac app, org.springframework.context.SmartLifecycle worker) {
        super("Celeriac broker check failed");
        this.app = app;
        this.worker = worker;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        String queue = app.config().defaultQueue();
        long waiting = app.broker().queueLength(queue);
        if (worker != null && !worker.isRunning()) {
            builder.down().withDetail("worker", "stopped");
        } else {
            builder.up().withDetail("worker", worker == null ? "not run here" : "running");
        }
        builder.withDetail("broker", app.config().brokerUrl().replaceAll("://[^@]*@", "://***@"))
                .withDetail("queue." + queue, waiting).withDetail("tasks", app.registry().names().size());
    }
}
