package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.fixtures.typed.Invoice;
import io.celeriac.fixtures.typed.InvoiceClient;
import io.celeriac.fixtures.typed.Invoices;
import io.celeriac.fixtures.typed.Line;
import io.celeriac.fixtures.typed.Order;
import io.celeriac.redis.testing.InvoiceWorkerMain;
import io.celeriac.task.Canvas;
import io.celeriac.task.TypedAsyncResult;
import io.celeriac.testing.RedisServerExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Compile-checked calls across processes: this JVM knows only the {@code Invoices} interface and the records, a
 * worker in another JVM registers the implementation, and Redis carries Celery's messages between them. A record
 * goes out as the argument; a record, computed by the other process, comes back.
 */
class TypedCallsIT {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    @Test
    void aTypedCallTakesARecordToAWorkerInAnotherProcessAndBringsARecordBack() throws Exception {
        Path log = Files.createDirectories(Path.of("target", "typed-calls")).resolve("worker.out");
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        Process worker = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), InvoiceWorkerMain.class.getName(), REDIS.url(0),
                REDIS.url(1)).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).build()).build()) {
            assertThat(app.registry().names()).as("the sender registers no task").isEmpty();
            Order ann = new Order(42, "ann", List.of(new Line("tea", 2, 350), new Line("pot", 1, 2400)));
            Order bo = new Order(43, "bo", List.of(new Line("cup", 3, 900)));

            TypedAsyncResult<Invoice> sent = app.send(Invoices::total, ann);
            // The first wait includes the worker JVM's start.
            Invoice invoice = sent.get(Duration.ofSeconds(90));

            assertThat(invoice).isEqualTo(new Invoice(42, "ann", 3100, 3, worker.pid()));
            assertThat(invoice.workerPid()).isNotEqualTo(ProcessHandle.current().pid());

            InvoiceClient client = app.client(InvoiceClient.class);
            Invoice second = client.total(bo).get(WAIT);
            Map<String, List<Invoice>> grouped = client.byCustomer(List.of(invoice, second, invoice)).get(WAIT);

            assertThat(second).isEqualTo(new Invoice(43, "bo", 2700, 3, worker.pid()));
            assertThat(grouped).containsOnlyKeys("ann", "bo");
            assertThat(grouped.get("ann")).containsExactly(invoice, invoice);
            assertThat(grouped.get("bo")).containsExactly(second);

            // A chain of typed signatures: one step's record result is the next step's argument, in the worker.
            String label = Canvas.chain(app.signature(Invoices::total, bo), app.partial(Invoices::label, "INV-"))
                    .applyAsync().as(String.class).get(WAIT);
            long total = Canvas.chord(List.of(app.signature(Invoices::total, ann), app.signature(Invoices::total, bo)),
                    app.partial(Invoices::sum)).applyAsync().as(Long.class).get(WAIT);

            assertThat(label).isEqualTo("INV-43 bo 2700");
            assertThat(total).isEqualTo(3100 + 2700);
        } finally {
            worker.destroy();
            if (!worker.waitFor(15, TimeUnit.SECONDS)) {
                worker.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
