package io.celeriac.examples.orders;

import io.celeriac.jdbc.JdbcOutbox;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The shop with OUTBOX=true: sends made in a transaction are rows of celeriac_outbox, relayed once committed. */
@SpringBootTest(classes = OrdersApplication.class, properties = {"celeriac.worker.enabled=true",
        "celeriac.worker.queues=email,render,celery", "celeriac.worker.hostname=orders@outbox",
        "celeriac.worker.shutdown-grace=2s", "orders.mail.failure-rate=0", "celeriac.outbox.enabled=true"})
@Import(ReceivedTasks.class)
@DirtiesContext
class OrdersOutboxIT extends TransactionalOrdersContract {
    @Autowired
    JdbcOutbox outbox;

    @Override
    void whileOpen(OrderService.PlacedOrder placed) {
        // In the transaction, on its connection, the messages are rows beside the order; no one else sees them yet.
        assertThat(jdbc.queryForObject("SELECT count(*) FROM celeriac_outbox WHERE task_id IN (?, ?)", Long.class,
                placed.emailTask(), placed.pdfTask())).isEqualTo(2);
        assertThat(outbox.pending()).isZero();
    }

    @Override
    void afterCommit() {
        await().atMost(Duration.ofSeconds(10)).until(() -> outbox.pending() == 0);
    }

    @Override
    void afterRollback() {
        assertThat(outbox.pending()).isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM celeriac_outbox", Long.class)).isZero();
    }
}
