package io.celeriac.task;

import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.fixtures.typed.Invoice;
import io.celeriac.fixtures.typed.InvoiceClient;
import io.celeriac.fixtures.typed.Invoices;
import io.celeriac.fixtures.typed.Line;
import io.celeriac.fixtures.typed.Order;
import io.celeriac.protocol.MessageCodec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A client interface as a proxy: which task each method sends, and which interfaces cannot be clients. */
class TaskClientTest {
    private static final Order ORDER = new Order(42, "ann", List.of(new Line("tea", 2, 350)));

    private record Sent(String task, List<Object> args, SendOptions options) {
    }

    private final List<Sent> sent = new ArrayList<>();
    private final TaskCaller caller = new TaskCaller((task, args, kwargs, options) -> {
        sent.add(new Sent(task, new ArrayList<>(args), options));
        return new AsyncResult("id-" + sent.size(), new InMemoryResultBackend(), null, new MessageCodec());
    }, new MethodReferencesTest.UnusedCanvasSender(), SendOptions.none());

    @Test
    void eachMethodSendsItsTaskWithTheCallsArgumentsAndReturnsATypedHandle() {
        InvoiceClient client = caller.client(InvoiceClient.class);

        TypedAsyncResult<Invoice> total = client.total(ORDER);
        AsyncResult count = client.count();

        assertThat(sent).extracting(Sent::task).containsExactly("invoices.total", "invoices.count");
        assertThat(sent.get(0).args()).containsExactly(ORDER);
        assertThat(sent.get(0).options().queue()).as("declared on the client interface").contains("invoices");
        assertThat(sent.get(1).args()).isEmpty();
        assertThat(total.id()).isEqualTo("id-1");
        assertThat(total.resultType()).isEqualTo(Invoice.class);
        assertThat(count).isInstanceOf(TypedAsyncResult.class);
        assertThat(((TypedAsyncResult<?>) count).resultType()).as("an AsyncResult method gets JSON values")
                .isEqualTo(Object.class);
    }

    @Test
    void genericResultTypesAndDefaultMethods() {
        InvoiceClient client = caller.client(InvoiceClient.class);

        TypedAsyncResult<Invoice> viaDefault = client.totalOf(7, "bo", new Line("cup", 1, 900));
        var grouped = client.byCustomer(List.of());

        assertThat(sent.get(0).task()).isEqualTo("invoices.total");
        assertThat(sent.get(0).args()).containsExactly(new Order(7, "bo", List.of(new Line("cup", 1, 900))));
        assertThat(viaDefault.id()).isEqualTo("id-1");
        assertThat(grouped.resultType().getTypeName())
                .isEqualTo("java.util.Map<java.lang.String, java.util.List<io.celeriac.fixtures.typed.Invoice>>");
    }

    @Test
    void withoutANameTheTaskIsNamedAfterTheClientInterface() {
        caller.client(Unnamed.class).ping("x");

        assertThat(sent).extracting(Sent::task).containsExactly("io.celeriac.task.TaskClientTest$Unnamed.ping");
    }

    @Test
    void theCallersOptionsWinOverTheDeclaredOnes() {
        caller.with(SendOptions.builder().queue("rush").build()).client(InvoiceClient.class).total(ORDER);

        assertThat(sent.get(0).options().queue()).contains("rush");
    }

    @Test
    void objectMethodsAreTheProxysOwn() {
        InvoiceClient a = caller.client(InvoiceClient.class);
        InvoiceClient b = caller.client(InvoiceClient.class);

        assertThat(a).isEqualTo(a).isNotEqualTo(b);
        assertThat(a.hashCode()).isEqualTo(System.identityHashCode(a));
        assertThat(a.toString()).isEqualTo("task client io.celeriac.fixtures.typed.InvoiceClient");
        assertThat(sent).isEmpty();
    }

    @Test
    void anInterfaceTheWorkerImplementsIsNoClientAndTheErrorSaysWhatToDo() {
        assertThatThrownBy(() -> caller.client(Invoices.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("io.celeriac.fixtures.typed.Invoices cannot be a task client: ")
                .hasMessageContaining("io.celeriac.fixtures.typed.Invoices#total(Order) returns "
                        + "io.celeriac.fixtures.typed.Invoice, not TypedAsyncResult<...>")
                .hasMessageEndingWith("for an interface the worker implements, send with "
                        + "app.send(Invoices::method, ...)");
    }

    @Test
    void methodsWithoutTaskOrTakingAContextAreNamedInTheError() {
        assertThatThrownBy(() -> caller.client(Broken.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("io.celeriac.task.TaskClientTest$Broken#untasked(String) has no @Task")
                .hasMessageContaining("io.celeriac.task.TaskClientTest$Broken#withContext(TaskContext, long) takes "
                        + "a TaskContext, which the worker supplies, not the caller");
    }

    @Test
    void aClassIsNoClient() {
        assertThatThrownBy(() -> caller.client(String.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("java.lang.String is not an interface");
    }

    interface Unnamed {
        @Task
        TypedAsyncResult<String> ping(String s);
    }

    interface Broken {
        TypedAsyncResult<String> untasked(String s);

        @Task(name = "b.ctx")
        TypedAsyncResult<String> withContext(TaskContext ctx, long id);
    }
}
