package io.celeriac.spring;

import io.celeriac.Celeriac;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.context.SmartLifecycle;

/** Actuator health on Boot 4, whose health API moved to {@code org.springframework.boot.health}: see {@link HealthCheck}. */
public class CeleriacBoot4HealthIndicator extends AbstractHealthIndicator {
    private final Celeriac app;
    private final @Nullable SmartLifecycle worker;

    public CeleriacBoot4HealthIndicator(Celeriac app, @Nullable SmartLifecycle worker) {
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
