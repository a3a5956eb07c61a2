package io.celeriac.cli;

import io.celeriac.Celeriac;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;

/**
 * {@code celeriac queues [q...]}: waiting messages and consumers per queue, plus the dead-letter queue. The consumer
 * count is the broker's own (RabbitMQ counts every client's subscriptions); a broker that keeps no record of who reads
 * a queue (Redis) shows "unknown", not a count that would leave Python workers out.
 */
@Command(name = "queues", mixinStandardHelpOptions = true, description = "Show queue lengths and consumer counts.")
final class QueuesCommand implements Callable<Integer> {
    /** In words, not a dash: a terminal whose locale is not UTF-8 would print a dash as '?'. */
    static final String UNKNOWN = "unknown";
    private static final String ROW = "%-30s %10s %10s%n";
    private static final String WHERE_ROW = "%-30s %10s %10s  %s%n";

    @Mixin
    ConnectionOptions connection;

    @Parameters(arity = "0..*", description = "Queues (default: task_default_queue).")
    List<String> queues = new ArrayList<>();

    @Override
    public Integer call() {
        try (Celeriac app = connection.app()) {
            List<String> qs = queues.isEmpty() ? List.of(app.config().defaultQueue()) : queues;
            // On a Redis Cluster each queue lives in one slot: say which slot and master hold it.
            io.celeriac.redis.RedisBroker cluster = app.broker() instanceof io.celeriac.redis.RedisBroker r
                    && r.isCluster() ? r : null;
            System.out.printf(cluster == null ? ROW : WHERE_ROW, "QUEUE", "WAITING", "CONSUMERS", "WHERE");
            for (String q : qs) {
                OptionalInt consumers = app.broker().consumerCount(q);
                System.out.printf(cluster == null ? ROW : WHERE_ROW, q, app.broker().queueLength(q),
                        consumers.isPresent() ? Integer.toString(consumers.getAsInt()) : UNKNOWN,
                        cluster == null ? "" : cluster.queueLocation(q));
            }
            System.out.printf("%-30s %10d%n", "(dead letters)",
                    app.broker().deadLetterQueue().map(d -> d.count()).orElse(0L));
            return 0;
        }
    }
}
