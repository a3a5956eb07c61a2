package io.celeriac.examples;

import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The tasks {@code celeriac demo} runs: a flaky e-mail task that retries with exponential backoff, a slow PDF task on
 * its own queue that reports progress, and {@code add}.
 */
public class DemoTasks {

    @Task(name = "demo.add")
    public int add(int x, int y) {
        return x + y;
    }

    /**
     * Talks to a mail server that refuses about half of the first attempts: the worker retries on
     * {@link SmtpUnavailableException} after 1 s, 2 s, 4 s... (with full jitter), up to 5 times.
     */
    @Task(name = "demo.send_welcome_email", queue = "email", autoretryFor = SmtpUnavailableException.class,
            retryBackoff = 1, retryBackoffMax = 8, maxRetries = 5)
    public String sendWelcomeEmail(TaskContext ctx, long userId) {
        if (ctx.retries() < 2 && ThreadLocalRandom.current().nextBoolean()) {
            throw new SmtpUnavailableException("421 mail.example.com busy, try again later");
        }
        return "welcome mail sent to user " + userId + " after " + ctx.retries() + " retr"
                + (ctx.retries() == 1 ? "y" : "ies");
    }

    /** Renders a PDF slowly on the {@code render} queue, storing PROGRESS as it goes. */
    @Task(name = "demo.render_pdf", queue = "render", softTimeLimit = 30, timeLimit = 40, acksLate = Task.Toggle.ON)
    public Map<String, Object> renderPdf(TaskContext ctx, long orderId, int pages) {
        for (int page = 1; page <= pages; page++) {
            ctx.sleep(Duration.ofMillis(150));
            ctx.updateState("PROGRESS", Map.of("page", page, "pages", pages));
        }
        return Map.of("order", orderId, "file", "invoice-" + orderId + ".pdf", "pages", pages);
    }
}
