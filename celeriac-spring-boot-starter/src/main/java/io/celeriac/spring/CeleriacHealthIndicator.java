package io.celeriac.spring;

import io.celeriac.Celeriac;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;
import org.springframework.context.SmartLifecycle;

/** Actuator health on Boot 3: see {@link HealthCheck}. */
public class CeleriacHealthIndicator extends AbstractHealthIndicator {
    private final Celeriac app;
    private final @Nullable SmartLifecycle worker;

    public CeleriacHealthIndicator(Celeriac app, @Nullable SmartLifecycle worker) {
        super("Celeriac broker check failed");
        this.app = app;
        this.worker = worker;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        HealthCheck check = HealthCheck.of(app, worker);
        (check.up() ? builder.up() : builder.down()).withDetails(check.details());
    }
}
