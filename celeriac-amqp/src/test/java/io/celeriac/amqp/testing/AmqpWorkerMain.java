package io.celeriac.amqp.testing;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.redis.testing.FleetTasks;

import java.nio.file.Path;

/**
 * A worker on RabbitMQ in its own JVM, so a test can SIGKILL it:
 * {@code AmqpWorkerMain <broker url> <concurrency> <node name> <run log>}. Acks late with a prefetch multiplier of 1;
 * results in memory (the test counts runs in the run log, not in a result backend).
 */
public final class AmqpWorkerMain {
    private AmqpWorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        FleetTasks tasks = new FleetTasks(Path.of(args[3]));
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(args[0]).resultBackend("memory://")
                .acksLate(true).prefetchMultiplier(1).hostname(args[2]).build()).register(tasks).build();
        tasks.record("hello", args[2]);
        app.worker().concurrency(Integer.parseInt(args[1])).start().awaitTermination();
    }
}
