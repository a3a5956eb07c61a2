package io.celeriac.spring;

import io.celeriac.Celeriac;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/** Up when the broker answers; reports the default queue's length and the registered tasks. */
public class CeleriacHealthIndicator extends AbstractHealthIndicator {
    private final Celeriac app;

    public CeleriacHealthIndicator(Celeriac app) {
        super("Celeriac broker check failed");
        this.app = app;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        String queue = app.config().defaultQueue();
        long waiting = app.broker().queueLength(queue);
        builder.up().withDetail("broker", app.config().brokerUrl().replaceAll("://[^@]*@", "://***@"))
                .withDetail("queue." + queue, waiting).withDetail("tasks", app.registry().names().size());
    }
}
