package io.celeriac.cli;

import io.celeriac.Celeriac;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code celeriac queues [q...]}: waiting messages per queue, plus the dead-letter queue. */
@Command(name = "queues", mixinStandardHelpOptions = true, description = "Show queue lengths.")
final class QueuesCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Parameters(arity = "0..*", description = "Queues (default: task_default_queue).")
    List<String> queues = new ArrayList<>();

    @Override
    public Integer call() {
        try (Celeriac app = connection.app()) {
            List<String> qs = queues.isEmpty() ? List.of(app.config().defaultQueue()) : queues;
            if (app.broker() instanceof io.celeriac.redis.RedisBroker redis && redis.isCluster()) {
                // Sharded over a Redis Cluster: say which slot and master hold each queue.
                System.out.printf("%-30s %10s  %s%n", "QUEUE", "WAITING", "WHERE");
                for (String q : qs) {
                    System.out.printf("%-30s %10d  %s%n", q, redis.queueLength(q), redis.queueLocation(q));
                }
            } else {
                System.out.printf("%-30s %10s%n", "QUEUE", "WAITING");
                for (String q : qs) {
                    System.out.printf("%-30s %10d%n", q, app.broker().queueLength(q));
                }
            }
            System.out.printf("%-30s %10d%n", "(dead letters)", app.broker().deadLetterQueue().map(d -> d.count()).orElse(0L));
            return 0;
        }
    }
}
