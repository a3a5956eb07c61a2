package io.celeriac;

import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.typed.Invoice;
import io.celeriac.fixtures.typed.InvoiceClient;
import io.celeriac.fixtures.typed.InvoiceTasks;
import io.celeriac.fixtures.typed.Invoices;
import io.celeriac.fixtures.typed.Line;
import io.celeriac.fixtures.typed.Order;
import io.celeriac.task.Canvas;
import io.celeriac.task.SendOptions;
import io.celeriac.task.TaskCall;
import io.celeriac.task.TypedAsyncResult;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Typed calls through a real worker on the in-memory broker: the sender is an app of its own that knows only the
 * {@link Invoices} interface, the worker's app registers {@link InvoiceTasks}. Records go out as arguments and come
 * back as results.
 */
class TypedCallsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Order ANN = new Order(42, "ann", List.of(new Line("tea", 2, 350), new Line("pot", 1, 2400)));
    private static final Order BO = new Order(43, "bo", List.of(new Line("cup", 3, 900)));
    private static final long PID = ProcessHandle.current().pid();

    private final InMemoryBroker broker = new InMemoryBroker();
    private final InMemoryResultBackend backend = new InMemoryResultBackend();
    private Celeriac sender;
    private Celeriac workerApp;
    private Worker worker;

    @BeforeEach
    void setUp() {
        InvoiceTasks.DONE.clear();
        sender = Celeriac.builder().broker(broker).resultBackend(backend).build();
        workerApp = Celeriac.builder().config(CeleriacConfig.builder().hostname("typed@local").build())
                .broker(broker).resultBackend(backend).register(new InvoiceTasks()).build();
    }

    @AfterEach
    void tearDown() {
        if (worker != null) {
            worker.shutdownNow();
        }
        broker.close();
    }

    private void startWorker() {
        worker = workerApp.worker().queues("celery", "invoices").concurrency(2).start();
    }

    @Test
    void aRecordGoesOutAndARecordComesBack() {
        TypedAsyncResult<Invoice> r = sender.send(Invoices::total, ANN);
        // The sender has not registered the task; its declaration still sends it to the "invoices" queue.
        assertThat(broker.queueLength("invoices")).isEqualTo(1);
        assertThat(broker.queueLength("celery")).isZero();
        startWorker();

        Invoice invoice = r.get(WAIT);

        assertThat(invoice).isEqualTo(new Invoice(42, "ann", 3100, 3, PID));
    }

    @Test
    void contextVoidAndGenericResults() {
        startWorker();

        TypedAsyncResult<String> described = sender.send(Invoices::describe, 42L);
        TypedAsyncResult<Void> noted = sender.send(Invoices::note, "paid");
        Map<String, List<Invoice>> grouped = sender.send(Invoices::byCustomer, List.of(
                new Invoice(1, "ann", 100, 1, 0), new Invoice(2, "bo", 200, 1, 0), new Invoice(3, "ann", 300, 1, 0)))
                .get(WAIT);

        assertThat(described.get(WAIT)).isEqualTo("order 42 in task " + described.id());
        assertThat(noted.get(WAIT)).isNull();
        assertThat(InvoiceTasks.DONE).containsExactly("note paid " + noted.id());
        assertThat(grouped).containsOnlyKeys("ann", "bo");
        assertThat(grouped.get("ann")).containsExactly(new Invoice(1, "ann", 100, 1, 0),
                new Invoice(3, "ann", 300, 1, 0));
        assertThat(sender.send(Invoices::count).get(WAIT)).isEqualTo(7);
        // By name, typed by hand: for tasks this code cannot reference.
        TypedAsyncResult<Integer> byName = sender.send(new TaskCall<>("invoices.count", List.of(), Integer.class,
                SendOptions.none()));
        assertThat(byName.get(WAIT)).isEqualTo(7);
    }

    @Test
    void aClientInterfaceSendsAndReturnsTypedHandles() {
        startWorker();
        InvoiceClient client = sender.client(InvoiceClient.class);

        assertThat(client.total(BO).get(WAIT)).isEqualTo(new Invoice(43, "bo", 2700, 3, PID));
        assertThat(client.totalOf(44, "cy", new Line("jar", 2, 50)).get(WAIT))
                .isEqualTo(new Invoice(44, "cy", 100, 2, PID));
        assertThat(client.count().get(WAIT)).isEqualTo(7);
    }

    @Test
    void optionsGoThroughWith() {
        startWorker();

        TypedAsyncResult<Invoice> r = sender.with(SendOptions.builder().taskId("order-42-total").build())
                .send(Invoices::total, ANN);

        assertThat(r.id()).isEqualTo("order-42-total");
        assertThat(r.get(WAIT).totalCents()).isEqualTo(3100);
    }

    @Test
    void typedSignaturesInAChainAndAChord() {
        startWorker();

        String label = Canvas.chain(sender.signature(Invoices::total, ANN), sender.partial(Invoices::label, "INV-"))
                .applyAsync().as(String.class).get(WAIT);
        // An immutable step after the first: its record argument travels inside the first message's chain field.
        Invoice last = Canvas.chain(sender.signature(Invoices::archive, 41L), sender.signature(Invoices::total, BO))
                .applyAsync().as(Invoice.class).get(WAIT);
        long sum = Canvas.chord(List.of(sender.signature(Invoices::total, ANN), sender.signature(Invoices::total, BO)),
                sender.partial(Invoices::sum)).applyAsync().as(Long.class).get(WAIT);

        assertThat(label).isEqualTo("INV-42 ann 3100");
        assertThat(last).isEqualTo(new Invoice(43, "bo", 2700, 3, PID));
        assertThat(InvoiceTasks.DONE).containsExactly("archive 41");
        assertThat(sum).isEqualTo(3100 + 2700);
    }

    @Test
    void eagerModeGivesTypedResultsToo() {
        try (Celeriac eager = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new InvoiceTasks()).build()) {
            assertThat(eager.send(Invoices::total, BO).get(Duration.ZERO))
                    .isEqualTo(new Invoice(43, "bo", 2700, 3, PID));
            assertThat(eager.client(InvoiceClient.class).total(ANN).get(Duration.ZERO).items()).isEqualTo(3);
        }
    }
}
