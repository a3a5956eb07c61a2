package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.OutboundMessage;
import org.postgresql.ds.PGSimpleDataSource;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An outbox relay in a JVM of its own, for {@link PostgresOutboxFaultIT} to kill: relays one batch from PostgreSQL
 * to Redis and, once it has published {@code stopAfter} messages of it, prints {@code RELAYED <n>} and hangs there,
 * its transaction open and nothing of the batch deleted yet, until it is killed.
 *
 * <p>Arguments: JDBC URL, Redis URL, batch size, stopAfter.
 */
public final class OutboxRelayProcess {
    private OutboxRelayProcess() {
    }

    public static void main(String[] args) throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(args[0]);
        ds.setUser("postgres");
        int batchSize = Integer.parseInt(args[2]);
        int stopAfter = Integer.parseInt(args[3]);
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(args[1]).resultBackend(args[1]).build();
        try (Celeriac app = Celeriac.builder().config(config).build()) {
            JdbcOutbox outbox = JdbcOutbox.builder(ds).migrate(false).build();
            AtomicInteger relayed = new AtomicInteger();
            CountDownLatch never = new CountDownLatch(1);
            OutboxRelay relay = outbox.relay(app.broker()).batchSize(batchSize).listener(new OutboxRelay.Listener() {
                @Override
                public void relayed(OutboundMessage message, boolean published) {
                    if (relayed.incrementAndGet() == stopAfter) {
                        System.out.println("RELAYED " + stopAfter);
                        System.out.flush();
                        try {
                            never.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            }).build();
            relay.relayBatch();
        }
    }
}
