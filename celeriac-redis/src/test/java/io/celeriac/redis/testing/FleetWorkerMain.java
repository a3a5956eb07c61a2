package io.celeriac.redis.testing;

import io.celeriac.testing.RedisServerExtension;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.redis.RedisBroker;
import io.celeriac.redis.RedisUrl;

import java.nio.file.Path;

/**
 * One worker of the fleet fault test, in its own JVM so the test can SIGKILL it:
 * {@code FleetWorkerMain <broker url> <backend url> <concurrency> <node name> <run log> <prefetch multiplier>}. Acks
 * late, as Celery recommends for tasks that must not be lost.
 *
 * <p>Started while redis-server is down, it gets everything ready and then waits for the server, as a deployment
 * that waits for its broker does, and starts consuming the moment the server answers: the first consumer back
 * after an outage is the one that finds every other consumer's heartbeat expired, which is the moment the broker
 * must still tell live consumers from dead ones.
 */
public final class FleetWorkerMain {
    private FleetWorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        FleetTasks tasks = new FleetTasks(Path.of(args[4]));
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(args[0]).resultBackend(args[1])
                .acksLate(true).prefetchMultiplier(Integer.parseInt(args[5])).hostname(args[3]).build())
                .register(tasks).build();
        int port = RedisUrl.parse(args[0]).port();
        while (!RedisServerExtension.answersPing(port)) {
            Thread.sleep(20);
        }
        // The broker's consumer id goes in the run log first, so the test can name the process that holds a message
        // it finds stuck in kombu's unacked hash.
        tasks.record("hello", ((RedisBroker) app.broker()).consumerId());
        app.worker().concurrency(Integer.parseInt(args[2])).start().awaitTermination();
    }
}
