package io.celeriac.examples.orders;

import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** The background work of the shop. Tasks take the order id, never the order: they load what they need. */
@Component
@org.springframework.context.annotation.DependsOn("ordersSchema")
public class OrderTasks {
    private final JdbcTemplate jdbc;
    private final MailGateway mail;
    private final Path pdfDir;

    public OrderTasks(JdbcTemplate jdbc, MailGateway mail, @Value("${orders.pdf-dir}") String pdfDir) {
        this.jdbc = jdbc;
        this.mail = mail;
        this.pdfDir = Path.of(pdfDir);
    }

    /**
     * Retries a busy mail server after ~1, 2, 4, 8 s (full jitter), up to 8 times. The task is unique while it is
     * pending or running, and idempotent after: a submit that arrives once the e-mail went out sends nothing.
     */
    @Task(name = "orders.send_invoice_email", queue = "email", unique = true, acksLate = Task.Toggle.ON,
            autoretryFor = MailGateway.SmtpTransientException.class, retryBackoff = 1, retryBackoffMax = 8,
            maxRetries = 8)
    public String sendInvoiceEmail(TaskContext ctx, long orderId) {
        Map<String, Object> order = jdbc.queryForMap("SELECT order_number, email FROM orders WHERE id = ?", orderId);
        Long sent = jdbc.queryForObject("SELECT count(*) FROM sent_email WHERE order_id = ?", Long.class, orderId);
        if (sent != null && sent > 0) {
            return "already sent to " + order.get("email");
        }
        mail.send(orderId, (String) order.get("email"), "Your invoice for order " + order.get("order_number"));
        return "sent to " + order.get("email") + " after " + ctx.retries() + " retries";
    }

    @Task(name = "orders.render_pdf", queue = "render", unique = true, acksLate = Task.Toggle.ON, timeLimit = 120,
            softTimeLimit = 100)
    public Map<String, Object> renderPdf(long orderId) throws IOException {
        Map<String, Object> order = jdbc.queryForMap("SELECT order_number, total_cents FROM orders WHERE id = ?",
                orderId);
        Files.createDirectories(pdfDir);
        Path file = pdfDir.resolve("invoice-" + order.get("order_number") + ".pdf");
        byte[] pdf = minimalPdf("Invoice " + order.get("order_number") + ": " + order.get("total_cents") + " cents");
        Files.write(file, pdf);
        jdbc.update("INSERT INTO invoice_pdf (order_id, file, bytes) VALUES (?, ?, ?) ON CONFLICT (order_id) DO "
                + "UPDATE SET file = EXCLUDED.file, bytes = EXCLUDED.bytes, rendered_at = now()", orderId,
                file.toString(), pdf.length);
        return Map.of("file", file.toString(), "bytes", pdf.length);
    }

    @Task(name = "orders.cleanup_expired_carts")
    public int cleanupExpiredCarts() {
        return jdbc.update("DELETE FROM carts WHERE expires_at < now()");
    }

    /** A one-page PDF with a line of text: enough for a viewer to open. */
    static byte[] minimalPdf(String text) {
        String content = "BT /F1 18 Tf 72 720 Td (" + text.replace("(", "").replace(")", "") + ") Tj ET";
        String[] objects = {
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length " + content.length() + " >>\nstream\n" + content + "\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
        StringBuilder pdf = new StringBuilder("%PDF-1.4\n");
        int[] offsets = new int[objects.length];
        for (int i = 0; i < objects.length; i++) {
            offsets[i] = pdf.length();
            pdf.append(i + 1).append(" 0 obj\n").append(objects[i]).append("\nendobj\n");
        }
        int xref = pdf.length();
        pdf.append("xref\n0 ").append(objects.length + 1).append("\n0000000000 65535 f \n");
        for (int offset : offsets) {
            pdf.append(String.format("%010d 00000 n \n", offset));
        }
        pdf.append("trailer\n<< /Size ").append(objects.length + 1).append(" /Root 1 0 R >>\nstartxref\n")
                .append(xref).append("\n%%EOF\n");
        return pdf.toString().getBytes(StandardCharsets.US_ASCII);
    }
}
