package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import io.celeriac.task.SendOptions;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code POST /orders}: stores the order and hands the slow work to Celeriac. Task ids derive from the order number
 * and the action, and the tasks are unique, so a double submit sends one e-mail.
 */
@RestController
public class OrderController {
    public record NewOrder(String orderNumber, String email, long totalCents) {
    }

    private final JdbcTemplate jdbc;
    private final Celeriac celeriac;

    public OrderController(JdbcTemplate jdbc, Celeriac celeriac) {
        this.jdbc = jdbc;
        this.celeriac = celeriac;
    }

    @PostMapping("/orders")
    public ResponseEntity<Map<String, Object>> create(@RequestBody NewOrder order) {
        jdbc.update("INSERT INTO orders (order_number, email, total_cents) VALUES (?, ?, ?) "
                + "ON CONFLICT (order_number) DO NOTHING", order.orderNumber(), order.email(), order.totalCents());
        long id = jdbc.queryForObject("SELECT id FROM orders WHERE order_number = ?", Long.class,
                order.orderNumber());
        String emailTask = "order-" + order.orderNumber() + "-send_invoice_email";
        String pdfTask = "order-" + order.orderNumber() + "-render_pdf";
        celeriac.applyAsync("orders.send_invoice_email", List.of(id), Map.of(),
                SendOptions.builder().taskId(emailTask).build());
        celeriac.applyAsync("orders.render_pdf", List.of(id), Map.of(), SendOptions.builder().taskId(pdfTask).build());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", id);
        body.put("tasks", Map.of("email", emailTask, "pdf", pdfTask));
        return ResponseEntity.accepted().body(body);
    }

    @GetMapping("/orders/{number}/status")
    public Map<String, Object> status(@PathVariable String number) {
        return Map.of(
                "email", celeriac.result("order-" + number + "-send_invoice_email").state(),
                "pdf", celeriac.result("order-" + number + "-render_pdf").state());
    }
}
