package io.celeriac.examples.orders;

import io.celeriac.Celeriac;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code POST /orders}: places the order ({@link OrderService}) and answers with the ids of its background tasks. */
@RestController
public class OrderController {
    private final OrderService orders;
    private final Celeriac celeriac;

    public OrderController(OrderService orders, Celeriac celeriac) {
        this.orders = orders;
        this.celeriac = celeriac;
    }

    @PostMapping("/orders")
    public ResponseEntity<Map<String, Object>> create(@RequestBody OrderService.NewOrder order) {
        OrderService.PlacedOrder placed = orders.place(order);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", placed.id());
        body.put("tasks", Map.of("email", placed.emailTask(), "pdf", placed.pdfTask()));
        return ResponseEntity.accepted().body(body);
    }

    @GetMapping("/orders/{number}/status")
    public Map<String, Object> status(@PathVariable String number) {
        return Map.of(
                "email", celeriac.result(OrderService.emailTaskId(number)).state(),
                "pdf", celeriac.result(OrderService.pdfTaskId(number)).state());
    }
}
