package io.celeriac.examples.orders;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Stands in for an SMTP server that is busy now and then: it refuses a configurable share of attempts with a
 * transient error, and records what it accepted in {@code sent_email} (the sink).
 */
@Component
@org.springframework.context.annotation.DependsOn("ordersSchema")
public class MailGateway {
    /** A 4xx SMTP reply: worth trying again later. */
    public static class SmtpTransientException extends RuntimeException {
        public SmtpTransientException(String message) {
            super(message);
        }
    }

    private final JdbcTemplate jdbc;
    private final double failureRate;

    public MailGateway(JdbcTemplate jdbc, @Value("${orders.mail.failure-rate:0.3}") double failureRate) {
        this.jdbc = jdbc;
        this.failureRate = failureRate;
    }

    public void send(long orderId, String to, String subject) {
        if (ThreadLocalRandom.current().nextDouble() < failureRate) {
            throw new SmtpTransientException("421 mail.example.com service busy, try again later");
        }
        jdbc.update("INSERT INTO sent_email (order_id, recipient, subject) VALUES (?, ?, ?)", orderId, to, subject);
    }
}
