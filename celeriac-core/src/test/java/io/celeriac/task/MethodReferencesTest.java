package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.backend.TaskState;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.fixtures.typed.Invoice;
import io.celeriac.fixtures.typed.InvoiceTasks;
import io.celeriac.fixtures.typed.Invoices;
import io.celeriac.fixtures.typed.Line;
import io.celeriac.fixtures.typed.Order;
import io.celeriac.protocol.MessageCodec;
import org.junit.jupiter.api.Test;

import java.lang.reflect.ParameterizedType;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Which task a method reference names, with what arguments, result type and options, and what it refuses. Sends go
 * to a recording sender: what reaches it is what {@code app.applyAsync} would get.
 */
class MethodReferencesTest {
    private static final Order ORDER = new Order(42, "ann", List.of(new Line("tea", 2, 350)));

    /** One call of {@code applyAsync}, as the app would get it. */
    private record Sent(String task, List<Object> args, Map<String, ?> kwargs, SendOptions options) {
    }

    private final List<Sent> sent = new ArrayList<>();
    private final InMemoryResultBackend backend = new InMemoryResultBackend();
    private final TaskCaller caller = new TaskCaller((task, args, kwargs, options) -> {
        sent.add(new Sent(task, new ArrayList<>(args), kwargs, options));
        return new AsyncResult("id-" + sent.size(), backend, null, new MessageCodec());
    }, new UnusedCanvasSender(), SendOptions.none());

    @Test
    void aReferenceSendsItsTaskByTheDeclaredNameWithTheArguments() {
        TypedAsyncResult<Invoice> r = caller.send(Invoices::total, ORDER);

        assertThat(sent).singleElement().satisfies(s -> {
            assertThat(s.task()).isEqualTo("invoices.total");
            assertThat(s.args()).containsExactly(ORDER);
            assertThat(s.kwargs()).isEmpty();
        });
        assertThat(r.id()).isEqualTo("id-1");
        assertThat(r.resultType()).isEqualTo(Invoice.class);
    }

    @Test
    void withoutANameTheTaskIsNamedAfterTheInterfaceThatDeclaresIt() {
        Invoice invoice = new Invoice(1, "ann", 700, 2, 0);
        caller.send(Invoices::label, invoice, "INV-");
        // Referenced through the implementing class, it is still the interface's task: the name a worker registers.
        caller.send(InvoiceTasks::label, invoice, "INV-");

        assertThat(sent).extracting(Sent::task).containsExactly("io.celeriac.fixtures.typed.Invoices.label",
                "io.celeriac.fixtures.typed.Invoices.label");
        assertThat(sent.get(1).args()).containsExactly(invoice, "INV-");
    }

    @Test
    void aTaskDeclaredOnAClassIsReferencedThroughTheClass() {
        TypedAsyncResult<Integer> r = caller.send(TestTasks::add, 2, 3);
        TypedAsyncResult<TestTasks.Point> p = caller.send(TestTasks::norm, new TestTasks.Point(1, 2), List.of(3, 4));

        assertThat(sent).extracting(Sent::task).containsExactly("t.add", "t.norm");
        assertThat(sent.get(0).args()).containsExactly(2, 3);
        assertThat(r.resultType()).isEqualTo(int.class);
        assertThat(p.resultType()).isEqualTo(TestTasks.Point.class);
    }

    @Test
    void theTaskContextIsLeftOutAndVoidTasksHaveNoResultType() {
        caller.send(Invoices::describe, 42L);
        TypedAsyncResult<Void> noted = caller.send(Invoices::note, "paid");
        TypedAsyncResult<Void> archived = caller.send(Invoices::archive, 42L);

        assertThat(sent).extracting(Sent::task, Sent::args).containsExactly(
                tuple("invoices.describe", List.of(42L)),
                tuple("invoices.note", List.of("paid")),
                tuple("invoices.archive", List.of(42L)));
        assertThat(noted.resultType()).isEqualTo(Void.class);
        assertThat(archived.resultType()).isEqualTo(Void.class);
    }

    @Test
    void genericResultTypesAreKeptWhole() {
        TypedAsyncResult<Map<String, List<Invoice>>> r = caller.send(Invoices::byCustomer, List.of());

        assertThat(r.resultType()).isInstanceOf(ParameterizedType.class);
        assertThat(r.resultType().getTypeName())
                .isEqualTo("java.util.Map<java.lang.String, java.util.List<io.celeriac.fixtures.typed.Invoice>>");
    }

    @Test
    void zeroToSixArguments() {
        caller.send(Invoices::count);
        caller.send(Invoices::six, 1, 2L, "c", true, 0.5, new Line("f", 1, 1));

        assertThat(sent).extracting(Sent::task).containsExactly("invoices.count", "invoices.six");
        assertThat(sent.get(0).args()).isEmpty();
        assertThat(sent.get(1).args()).containsExactly(1, 2L, "c", true, 0.5, new Line("f", 1, 1));
    }

    @Test
    void theDeclaredSendOptionsApplyUnlessTheCallerSetsItsOwn() {
        caller.send(Invoices::total, ORDER);
        caller.with(SendOptions.builder().queue("rush").priority(3).build()).send(Invoices::total, ORDER);
        caller.with(SendOptions.builder().priority(3).build()).with(SendOptions.builder().priority(5).build())
                .send(Invoices::count);

        assertThat(sent.get(0).options().queue()).contains("invoices");
        assertThat(sent.get(1).options().queue()).contains("rush");
        assertThat(sent.get(1).options().priority()).contains(3);
        assertThat(sent.get(2).options().queue()).isEmpty();
        assertThat(sent.get(2).options().priority()).as("the later with(...) wins").contains(5);
    }

    @Test
    void laterOptionsReplaceCountdownOrEtaAsAPairAndHeadersMerge() {
        Instant at = Instant.parse("2030-01-01T00:00:00Z");
        caller.with(SendOptions.builder().countdown(Duration.ofMinutes(5)).header("a", 1).header("b", 1).build())
                .with(SendOptions.builder().eta(at).header("b", 2).build())
                .send(Invoices::total, ORDER);

        SendOptions o = sent.get(0).options();
        assertThat(o.eta()).contains(at);
        assertThat(o.countdown()).as("not both: the later with(...) set the pair").isEmpty();
        assertThat(o.headers()).containsExactlyInAnyOrderEntriesOf(Map.of("a", 1, "b", 2));
        assertThat(o.queue()).as("still the declared queue").contains("invoices");
    }

    @Test
    void theResultIsRebuiltAsTheDeclaredType() {
        TypedAsyncResult<Invoice> r = caller.send(Invoices::total, ORDER);
        backend.store(ResultDocument.of(r.id(), TaskState.SUCCESS,
                Map.of("orderId", 42, "customer", "ann", "totalCents", 700, "items", 2, "workerPid", 9)));

        Invoice invoice = r.get(Duration.ofSeconds(1));

        assertThat(invoice).isEqualTo(new Invoice(42, "ann", 700, 2, 9));
    }

    @Test
    void aResultThatDoesNotFitTheTypeFailsNamingTheTask() {
        TypedAsyncResult<Invoice> r = caller.send(Invoices::total, ORDER);
        backend.store(ResultDocument.of(r.id(), TaskState.SUCCESS, "not an invoice"));

        assertThatThrownBy(() -> r.get(Duration.ofSeconds(1))).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("The result of task id-1 cannot be read as io.celeriac.fixtures.typed.Invoice");
    }

    @Test
    void signaturesCarryEveryArgumentAndAreImmutablePartialsLeaveTheFirstOut() {
        Signature full = caller.signature(Invoices::label, new Invoice(1, "ann", 700, 2, 0), "INV-");
        Signature partial = caller.partial(Invoices::label, "INV-");
        Signature withContext = caller.partial(Invoices::describe);

        assertThat(full.task()).isEqualTo("io.celeriac.fixtures.typed.Invoices.label");
        assertThat(full.args()).hasSize(2);
        assertThat(full.immutable()).isTrue();
        assertThat(partial.task()).isEqualTo("io.celeriac.fixtures.typed.Invoices.label");
        assertThat(partial.args()).containsExactly("INV-");
        assertThat(partial.immutable()).isFalse();
        assertThat(withContext.task()).isEqualTo("invoices.describe");
        assertThat(withContext.args()).isEmpty();
        assertThat(caller.signature(Invoices::total, ORDER).options().queue()).contains("invoices");
    }

    @Test
    void aLambdaIsNotAMethodReference() {
        assertThatThrownBy(() -> caller.send((Invoices i, Order o) -> i.total(o), ORDER))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Typed calls take a method reference such as Invoices::total, not a lambda");
        assertThat(sent).isEmpty();
    }

    @Test
    void aMethodWithoutTaskIsRefusedByName() {
        assertThatThrownBy(() -> caller.send(Untasked::plain, "x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("io.celeriac.task.MethodReferencesTest$Untasked#plain(String) is not a task: neither it "
                        + "nor an interface method it implements has @Task");
    }

    @Test
    void boundStaticAndHandMadeReferencesAreRefused() {
        InvoiceTasks tasks = new InvoiceTasks();
        // The compiler takes tasks::label as a Returning1<Invoice, String, String>: bound, so refused.
        assertThatThrownBy(() -> caller.send(tasks::label, "INV-"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not one bound to an object");
        // A static (a, b) method fits Returning1<A, B, R> too.
        assertThatThrownBy(() -> caller.send(Untasked::twice, 21))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is a static method");
        assertThatThrownBy(() -> caller.send(new HandMade(), ORDER))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not one");
        assertThat(sent).isEmpty();
    }

    @Test
    void aContextTaskReferencedAsAPlainOneIsRefused() {
        // Only a hand-made cast gets here: the compiler would pick the Context kind.
        TaskMethod.Returning2<Invoices, TaskContext, Long, String> plain = Invoices::describe;

        assertThatThrownBy(() -> caller.send(plain, null, 42L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("takes a TaskContext first: pass only the arguments after it");
    }

    @Test
    void aTaskDeclaredOnBothTheInterfaceAndItsImplementationIsRefused() {
        assertThatThrownBy(() -> caller.send(DeclaredTwice::total, ORDER)).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("declare the task once, on the interface");
    }

    static class Untasked {
        String plain(String s) {
            return s;
        }

        @Task(name = "x.twice")
        static int twice(int a, int b) {
            return 2 * a * b;
        }
    }

    static class DeclaredTwice extends InvoiceTasks {
        @Task(name = "other.total")
        @Override
        public Invoice total(Order order) {
            return super.total(order);
        }
    }

    /** A functional interface implemented by hand, not by the compiler: nothing to read a method from. */
    static class HandMade implements TaskMethod.Returning1<Invoices, Order, Invoice> {
        @Override
        public Invoice call(Invoices tasks, Order order) {
            return tasks.total(order);
        }
    }

    /** Signatures made here are not sent. */
    static final class UnusedCanvasSender implements Canvas.Sender {
        @Override
        public AsyncResult send(Signature signature) {
            throw new UnsupportedOperationException();
        }

        @Override
        public AsyncResult send(Chain chain) {
            throw new UnsupportedOperationException();
        }

        @Override
        public GroupResult send(Group group) {
            throw new UnsupportedOperationException();
        }

        @Override
        public AsyncResult send(Chord chord) {
            throw new UnsupportedOperationException();
        }
    }
}
