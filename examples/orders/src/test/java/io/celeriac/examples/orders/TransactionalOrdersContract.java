package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import io.celeriac.backend.TaskState;
import io.celeriac.testing.PostgresServerExtension;
import io.celeriac.testing.RedisServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * An order placed in a transaction, watched from the application's own worker (PostgreSQL and Redis started by the
 * test): its tasks are received only once the transaction has committed, once each, and read the order's row; an
 * order rolled back sends nothing. {@link OrdersAfterCommitIT} runs it with the sends held until the commit,
 * {@link OrdersOutboxIT} with the outbox. The mail server never refuses here, so a task received twice was sent twice.
 */
abstract class TransactionalOrdersContract {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();
    @RegisterExtension
    static final PostgresServerExtension POSTGRES = new PostgresServerExtension();

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry registry) {
        registry.add("celeriac.broker-url", () -> REDIS.url(0));
        registry.add("celeriac.result-backend", () -> REDIS.url(1));
        registry.add("spring.datasource.url", POSTGRES::jdbcUrl);
        registry.add("spring.datasource.username", () -> "postgres");
    }

    @Autowired
    OrderService orders;
    @Autowired
    Celeriac celeriac;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    PlatformTransactionManager transactions;
    @Autowired
    ReceivedTasks received;

    /** More checks while the order's transaction is open (on its thread, in the transaction). */
    void whileOpen(OrderService.PlacedOrder placed) {
    }

    /** More checks once the committed order's tasks have run. */
    void afterCommit() {
    }

    /** More checks once the rolled-back order is known to have sent nothing. */
    void afterRollback() {
    }

    @Test
    void aCommittedOrderSendsItsEmailOnceAfterTheCommitAndTheTaskReadsTheRow() {
        String number = "C-2001";
        String email = OrderService.emailTaskId(number);
        String pdf = OrderService.pdfTaskId(number);

        new TransactionTemplate(transactions).executeWithoutResult(status -> {
            OrderService.PlacedOrder placed = orders.place(new OrderService.NewOrder(number, "grace@example.com",
                    1200));
            assertThat(placed.emailTask()).isEqualTo(email);
            // The worker is consuming: a message sent now would be received within moments, and its task would find
            // no order to read.
            await("nothing received while the transaction is open").during(Duration.ofSeconds(1))
                    .atMost(Duration.ofSeconds(3)).until(() -> received.count(email) + received.count(pdf) == 0);
            assertThat(celeriac.broker().queueLength("email")).isZero();
            whileOpen(placed);
        });

        assertThat((String) celeriac.result(email).get(Duration.ofSeconds(60))).startsWith("sent to grace@example.com");
        assertThat(celeriac.result(pdf).get(Duration.ofSeconds(60)).toString()).contains("invoice-" + number + ".pdf");
        await("each task received once").during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                .until(() -> received.count(email) == 1 && received.count(pdf) == 1);
        long orderId = jdbc.queryForObject("SELECT id FROM orders WHERE order_number = ?", Long.class, number);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM sent_email WHERE order_id = ?", Long.class, orderId))
                .isEqualTo(1);
        afterCommit();
    }

    @Test
    void aRolledBackOrderSendsNothing() {
        String number = "R-3001";
        String email = OrderService.emailTaskId(number);
        String pdf = OrderService.pdfTaskId(number);

        assertThatThrownBy(() -> new TransactionTemplate(transactions).executeWithoutResult(status -> {
            orders.place(new OrderService.NewOrder(number, "hopper@example.com", 900));
            throw new IllegalStateException("payment declined");
        })).hasMessage("payment declined");

        await("nothing received after the rollback").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4))
                .until(() -> received.count(email) + received.count(pdf) == 0);
        assertThat(celeriac.result(email).state()).isEqualTo(TaskState.PENDING);
        assertThat(celeriac.broker().queueLength("email")).isZero();
        assertThat(celeriac.broker().queueLength("render")).isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM orders WHERE order_number = ?", Long.class, number))
                .isZero();
        afterRollback();
    }
}
