package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.broker.ReconnectBackoff;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code celeriac events}: a live text view of the event stream, like {@code celery events --dump}. Started while the
 * broker is down, it retries until it can subscribe; once subscribed, the broker's client resubscribes by itself
 * after a reconnect.
 */
@Command(name = "events", mixinStandardHelpOptions = true, description = "Print the live event stream.")
final class EventsCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--heartbeats", description = "Also print worker-heartbeat events.")
    boolean heartbeats;

    @Override
    public Integer call() throws Exception {
        Celeriac app = connection.app();
        if (app.broker().eventBus().isEmpty()) {
            // Not an outage to retry through: this broker carries no events at all.
            app.close();
            throw new UnsupportedOperationException("the broker at " + ReconnectBackoff.redact(app.config().brokerUrl())
                    + " carries no Celery events (" + app.broker().getClass().getSimpleName() + " has no event bus)");
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            done.countDown();
            app.close();
        }, "celeriac-events-stop"));
        // Each attempt has its own listener, and only the one in force prints: a broker may keep the listener of an
        // attempt that failed (RedisBroker registers it before subscribing), which would print every event twice.
        java.util.concurrent.atomic.AtomicReference<Object> current = new java.util.concurrent.atomic.AtomicReference<>();
        AutoCloseable subscription = new ReconnectBackoff(LoggerFactory.getLogger("celeriac.events")).retry(
                "the broker at " + ReconnectBackoff.redact(app.config().brokerUrl()), () -> {
                    Object token = new Object();
                    current.set(token);
                    return app.broker().eventBus().orElseThrow(() -> new UnsupportedOperationException(
                            "celeriac events needs a broker that carries Celery's events")).subscribe(e -> {
                        if (current.get() == token) {
                            print(e);
                        }
                    });
                });
        try (AutoCloseable sub = subscription) {
            System.out.println("-> celeriac events: listening (Ctrl-C to stop)");
            done.await();
        }
        return 0;
    }

    private void print(Map<String, Object> e) {
        String type = String.valueOf(e.get("type"));
        if (!heartbeats && type.equals("worker-heartbeat")) {
            return;
        }
        Object ts = e.get("timestamp");
        String when = ts instanceof Number n ? Instant.ofEpochMilli((long) (n.doubleValue() * 1000)).toString() : "";
        StringBuilder line = new StringBuilder(when).append(' ').append(e.get("hostname")).append(' ').append(type);
        if (e.containsKey("uuid")) {
            line.append(' ').append(e.containsKey("name") ? e.get("name") + "[" + e.get("uuid") + "]" : e.get("uuid"));
        }
        for (String k : new String[] {"args", "kwargs", "result", "runtime", "exception", "active", "processed"}) {
            if (e.containsKey(k)) {
                line.append(' ').append(k).append('=').append(e.get(k));
            }
        }
        System.out.println(line);
        System.out.flush();
    }
}
