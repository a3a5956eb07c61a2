package io.celeriac.amqp;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import io.celeriac.CeleriacConfig;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerContract;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;

/**
 * The AMQP broker keeps the broker contract against a private RabbitMQ node. Each consumer is its own
 * {@link AmqpBroker} with its own connection, as each worker process has its own; a kill drops the connection without
 * settling anything, and recovery is RabbitMQ's own: it puts the dead connection's unacked messages back.
 */
class AmqpBrokerContractIT extends BrokerContract {
    // Started by hand, not as a JUnit extension: the contract's property runs on jqwik's engine, which does not run
    // JUnit extensions, and both engines share the one node (a start costs seconds).
    private static final RabbitMqServer RABBIT = new RabbitMqServer();
    private static final List<String> QUEUES = List.of("contract.a", "contract.b");
    private static boolean started;

    /** The broker URL's options for this suite's queues. */
    protected String options() {
        // Priorities need x-max-priority; 10 is what Celery's docs suggest for task_queue_max_priority.
        return "?task_queue_max_priority=10";
    }

    /** Classic queues: priorities, and a requeued message back at its old place; quorum queues: neither. */
    protected boolean honoursPriorities() {
        return true;
    }

    static synchronized RabbitMqServer node() throws Exception {
        if (!started) {
            RABBIT.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    RABBIT.close();
                } catch (Exception ignored) {
                    // the JVM is exiting
                }
            }));
            started = true;
        }
        return RABBIT;
    }

    @Override
    protected Transport open() throws Exception {
        String url = node().url() + options();
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url).build();
        emptyStore(config.deadLetterQueue());
        List<AmqpBroker> opened = new ArrayList<>();
        Map<Broker, Long> expectedBack = new HashMap<>();
        return new Transport() {
            @Override
            public Broker connect() {
                AmqpBroker b = new AmqpBroker(url, config);
                opened.add(b);
                return b;
            }

            @Override
            public void crash(Broker consumer) {
                AmqpBroker b = (AmqpBroker) consumer;
                // What the victim holds comes back on top of what waits now: recovery is done when it is all back.
                long waiting = 0;
                for (String q : QUEUES) {
                    waiting += b.queueLength(q);
                }
                expectedBack.put(consumer, waiting + b.unsettledCount());
                b.abort();
            }

            @Override
            public void awaitRecovery(Broker survivor) {
                long expected = expectedBack.values().stream().mapToLong(Long::longValue).max().orElse(0);
                expectedBack.clear();
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20)).until(() -> {
                    long n = 0;
                    for (String q : QUEUES) {
                        n += survivor.queueLength(q);
                    }
                    return n >= expected;
                });
            }

            @Override
            public boolean lowerNumberFirst() {
                return false;
            }

            @Override
            public boolean honoursPriorities() {
                return AmqpBrokerContractIT.this.honoursPriorities();
            }

            @Override
            public boolean requeueGoesFirst() {
                return AmqpBrokerContractIT.this.honoursPriorities();
            }

            @Override
            public void close() {
                for (AmqpBroker b : opened) {
                    b.close();
                }
            }
        };
    }

    /** Deletes the contract's queues and the dead letters, and empties the delay levels: a fresh store. */
    static void emptyStore(String deadLetterQueue) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setPort(RABBIT.port());
        f.setHost("127.0.0.1");
        try (Connection c = f.newConnection("contract-reset")) {
            for (String q : List.of("contract.a", "contract.b", deadLetterQueue)) {
                Channel ch = c.createChannel();
                ch.queueDelete(q);
                ch.close();
            }
            for (int level = 0; level < DelayedDelivery.LEVELS; level++) {
                Channel ch = c.createChannel();
                try {
                    ch.queuePurge(DelayedDelivery.level(level));
                    ch.close();
                } catch (IOException notDeclaredYet) {
                    // the channel is closed by the 404
                }
            }
        }
    }
}
