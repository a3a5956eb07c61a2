package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import io.celeriac.task.SendOptions;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import java.util.List;
import java.util.Map;

/**
 * Places an order: the row and the two tasks that work on it, in one transaction. The tasks read the order by id, so
 * they must not run before the row is committed, nor for a row that was rolled back: the starter holds the sends
 * until the commit (celeriac.send-after-commit), or writes them to the outbox in the transaction
 * (celeriac.outbox.enabled). Task ids derive from the order number and the action, and the tasks are unique, so a
 * double submit sends one e-mail.
 */
@Service
public class OrderService {
    public record NewOrder(String orderNumber, String email, long totalCents) {
    }

    public record PlacedOrder(long id, String emailTask, String pdfTask) {
    }

    private final JdbcTemplate jdbc;
    private final Celeriac celeriac;

    public OrderService(JdbcTemplate jdbc, Celeriac celeriac) {
        this.jdbc = jdbc;
        this.celeriac = celeriac;
    }

    @Transactional
    public PlacedOrder place(NewOrder order) {
        jdbc.update("INSERT INTO orders (order_number, email, total_cents) VALUES (?, ?, ?) "
                + "ON CONFLICT (order_number) DO NOTHING", order.orderNumber(), order.email(), order.totalCents());
        long id = jdbc.queryForObject("SELECT id FROM orders WHERE order_number = ?", Long.class,
                order.orderNumber());
        String emailTask = emailTaskId(order.orderNumber());
        String pdfTask = pdfTaskId(order.orderNumber());
        // Sent now, in the transaction: the ids are known at once; the messages go out once it commits.
        celeriac.applyAsync("orders.send_invoice_email", List.of(id), Map.of(),
                SendOptions.builder().taskId(emailTask).build());
        celeriac.applyAsync("orders.render_pdf", List.of(id), Map.of(), SendOptions.builder().taskId(pdfTask).build());
        return new PlacedOrder(id, emailTask, pdfTask);
    }

    public static String emailTaskId(String orderNumber) {
        return "order-" + orderNumber + "-send_invoice_email";
    }

    public static String pdfTaskId(String orderNumber) {
        return "order-" + orderNumber + "-render_pdf";
    }
}
