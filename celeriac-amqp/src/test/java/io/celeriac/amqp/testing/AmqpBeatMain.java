package io.celeriac.amqp.testing;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.Beat;
import io.celeriac.jdbc.JdbcScheduleStore;

import java.time.Clock;
import java.time.Duration;

/**
 * A beat on RabbitMQ in its own JVM, so a test can SIGKILL it mid-run:
 * {@code AmqpBeatMain <broker url> <jdbc url> <holder> <lease ms> <relay after ms>}. Entries, lease and dispatch
 * ledger in the database (user {@code sa}, no password); runs until killed.
 */
public final class AmqpBeatMain {
    private AmqpBeatMain() {
    }

    public static void main(String[] args) throws Exception {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(args[0])
                .resultBackend("memory://").build()).build();
        JdbcScheduleStore store = JdbcScheduleStore.open(args[1], "sa", "");
        new Beat(app, store, Clock.systemUTC(), args[2], Duration.ofMillis(Long.parseLong(args[3])),
                Duration.ofMillis(Long.parseLong(args[4]))).start();
        Thread.currentThread().join();
    }
}
