package io.celeriac.spring;

import io.celeriac.jdbc.OutboxRelay;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.context.SmartLifecycle;

import java.util.function.ToDoubleFunction;

/**
 * {@code celeriac.outbox.relay.enabled} (on by default with the outbox): the outbox relay runs in this application,
 * started with the context and stopped when it closes, woken after each commit that wrote to the outbox. Every
 * instance of the application may run one: they share the table ({@code FOR UPDATE SKIP LOCKED}).
 */
final class OutboxRelayLifecycle implements SmartLifecycle, MeterBinder {
    private final OutboxRelay relay;
    private final OutboxSends sends;
    private volatile boolean running;

    OutboxRelayLifecycle(OutboxRelay relay, OutboxSends sends) {
        this.relay = relay;
        this.sends = sends;
    }

    OutboxRelay relay() {
        return relay;
    }

    @Override
    public void start() {
        relay.start();
        sends.afterCommit(relay::wake);
        running = true;
    }

    @Override
    public void stop() {
        sends.afterCommit(null);
        relay.close();
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        // With the worker: after the web server and other beans, stopped before them.
        return Integer.MAX_VALUE - 100;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "published", OutboxRelay::published, "published");
        counter(registry, "duplicate", OutboxRelay::duplicates, "found already queued (relayed again after a "
                + "relay stopped before deleting them, or a unique task still pending)");
        counter(registry, "parked", OutboxRelay::parked, "parked: refused by the broker or unreadable");
    }

    private void counter(MeterRegistry registry, String outcome, ToDoubleFunction<OutboxRelay> value,
                         String description) {
        FunctionCounter.builder("celeriac.outbox.relayed", relay, value).tag("outcome", outcome)
                .description("Outbox rows this application's relay took: " + description).baseUnit("messages")
                .register(registry);
    }
}
