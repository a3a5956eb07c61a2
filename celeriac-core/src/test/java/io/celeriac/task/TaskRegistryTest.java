package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.fixtures.typed.Invoice;
import io.celeriac.fixtures.typed.InvoiceTasks;
import io.celeriac.fixtures.dup.DuplicateTasks;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TaskRegistryTest {

    @Test
    void registersAnnotatedMethodsOfAnObject() {
        TaskRegistry registry = new TaskRegistry();
        registry.register(new TestTasks());
        assertThat(registry.names()).contains("t.add", "t.flaky", "t.soft", "t.hard");
        TaskDefinition flaky = registry.get("t.flaky");
        assertThat(flaky.source()).isEqualTo("io.celeriac.fixtures.TestTasks#flaky(TaskContext, int)");
        assertThat(flaky.parameterNames()).containsExactly("failures");
        assertThat(flaky.options().maxRetries()).isEqualTo(5);
        assertThat(flaky.options().autoretryFor()).containsExactly(TestTasks.FlakyError.class);
        assertThat(flaky.options().dontAutoretryFor()).containsExactly(TestTasks.FatalError.class);
        assertThat(flaky.options().retryBackoff()).contains(Duration.ofMillis(10));
    }

    @Test
    void annotationDefaultsAreCelerysDefaults() {
        TaskRegistry registry = new TaskRegistry();
        registry.register(new TestTasks());
        TaskOptions o = registry.get("t.add").options();
        assertThat(o.maxRetries()).isEqualTo(3);
        assertThat(o.defaultRetryDelay()).isEqualTo(Duration.ofSeconds(180));
        assertThat(o.retryBackoff()).isEmpty();
        assertThat(o.retryBackoffMax()).isEqualTo(Duration.ofSeconds(600));
        assertThat(o.retryJitter()).isTrue();
        assertThat(o.acksLate()).isEmpty();
        assertThat(o.timeLimit()).isEmpty();
        assertThat(o.rateLimit()).isEmpty();
        assertThat(registry.get("t.limited").options().rateLimit()).contains(RateLimit.parse("20/s"));
        assertThat(registry.get("t.block_late").options().acksLate()).contains(true);
        assertThat(registry.get("t.soft").options().softTimeLimit()).contains(Duration.ofMillis(200));
    }

    @Test
    void scansAPackageWithoutAFramework() throws Exception {
        TaskRegistry registry = new TaskRegistry();
        List<TaskDefinition> found = registry.scan("io.celeriac.fixtures.scan");
        assertThat(found).extracting(TaskDefinition::name)
                .containsExactlyInAnyOrder("io.celeriac.fixtures.scan.OtherTasks.shout", "reports.name");
        assertThat(registry.get("reports.name").handler().run(null, List.of(7), Map.of())).isEqualTo("report-7");
        assertThat(registry.get("io.celeriac.fixtures.scan.OtherTasks.shout").handler()
                .run(null, List.of("hi"), Map.of())).isEqualTo("HI");
    }

    @Test
    void scanningAcrossPackagesStillCatchesDuplicates() {
        TaskRegistry registry = new TaskRegistry();
        assertThatThrownBy(() -> registry.scan("io.celeriac.fixtures"))
                .isInstanceOf(DuplicateTaskException.class).hasMessageContaining("'t.add'");
    }

    @Test
    void duplicateNameFailsNamingBothMethods() {
        TaskRegistry registry = new TaskRegistry();
        registry.register(new TestTasks());
        assertThatThrownBy(() -> registry.register(new DuplicateTasks()))
                .isInstanceOf(DuplicateTaskException.class)
                .hasMessageContaining("'t.add'")
                .hasMessageContaining("io.celeriac.fixtures.TestTasks#add(int, int)")
                .hasMessageContaining("io.celeriac.fixtures.dup.DuplicateTasks#addAgain(int, int)");
    }

    @Test
    void lambdaTasksRegisterToo() throws Exception {
        TaskRegistry registry = new TaskRegistry();
        registry.register(TaskDefinition.of("l.len", (ctx, args, kwargs) -> args.get(0).toString().length()));
        assertThat(registry.get("l.len").handler().run(null, List.of("abcd"), Map.of())).isEqualTo(4);
        assertThatThrownBy(() -> registry.get("nope")).isInstanceOf(TaskNotRegisteredException.class)
                .hasMessageContaining("'nope'");
    }

    @Test
    void tasksDeclaredOnAnInterfaceRegisterWithTheClassImplementingIt() throws Exception {
        TaskRegistry registry = new TaskRegistry();
        List<TaskDefinition> added = registry.register(new InvoiceTasks());

        assertThat(added).extracting(TaskDefinition::name).containsExactlyInAnyOrder("invoices.archive",
                "invoices.by_customer", "invoices.count", "invoices.describe", "invoices.note", "invoices.six",
                "invoices.sum", "invoices.total", "io.celeriac.fixtures.typed.Invoices.label");
        TaskDefinition total = registry.get("invoices.total");
        assertThat(total.options().queue()).contains("invoices");
        assertThat(total.source()).isEqualTo("io.celeriac.fixtures.typed.InvoiceTasks#total(Order)");
        assertThat(total.parameterNames()).containsExactly("order");
        Object invoice = total.handler().run(null, List.of(Map.of("id", 42, "customer", "ann",
                "lines", List.of(Map.of("sku", "tea", "quantity", 2, "unitCents", 350)))), Map.of());
        assertThat(invoice).isEqualTo(new Invoice(42, "ann", 700, 2, ProcessHandle.current().pid()));
    }

    @Test
    void aMethodImplementingAnInterfacesTaskHasItsDefinition() throws Exception {
        // What the Spring starter does for each bean method it finds: the declaration may be on the interface.
        TaskRegistry registry = new TaskRegistry();
        TaskDefinition d = registry.definitionOf(new InvoiceTasks(), InvoiceTasks.class.getMethod("count"));

        assertThat(d.name()).isEqualTo("invoices.count");
        assertThat(d.handler().run(null, List.of(), Map.of())).isEqualTo(7);
        assertThatThrownBy(() -> registry.definitionOf(new InvoiceTasks(), Object.class.getMethod("toString")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("has no @Task annotation");
    }

    @Test
    void scanningFindsTheClassesImplementingAnInterfacesTasks() {
        TaskRegistry registry = new TaskRegistry();
        List<TaskDefinition> found = registry.scan("io.celeriac.fixtures.typed");

        assertThat(found).extracting(TaskDefinition::source).allMatch(s -> s.startsWith(
                "io.celeriac.fixtures.typed.InvoiceTasks#"));
        assertThat(found).extracting(TaskDefinition::name).contains("invoices.total",
                "io.celeriac.fixtures.typed.Invoices.label").hasSize(9);
    }

    @Test
    void argumentDefaultsDeclaredOnTheInterfaceApply() throws Exception {
        TaskRegistry registry = new TaskRegistry();
        registry.register(new GreeterTasks());

        assertThat(registry.get("g.greet").handler().run(null, List.of("Ann"), Map.of())).isEqualTo("Hello, Ann");
        assertThat(registry.get("g.greet").handler().run(null, List.of(), Map.of("who", "Bo", "greeting", "Hi")))
                .isEqualTo("Hi, Bo");
    }

    @Test
    void declarationsInTwoPlacesAreRefused() {
        TaskRegistry registry = new TaskRegistry();

        assertThatThrownBy(() -> registry.register(new TwiceDeclared())).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("TwiceDeclared#greet(String, String) has @Task, and so has "
                        + "io.celeriac.task.TaskRegistryTest$Greeter#greet(String, String)")
                .hasMessageContaining("declare the task once, on the interface");
        assertThatThrownBy(() -> registry.register(new ArgOnImplementation())).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("@Arg on parameter 'greeting' is not read: the task is declared by "
                        + "io.celeriac.task.TaskRegistryTest$Greeter#greet(String, String)");
        assertThatThrownBy(() -> registry.register(Greeter.class)).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("is an interface: register the class that implements its tasks");
        assertThat(registry.names()).isEmpty();
    }

    interface Greeter {
        @Task(name = "g.greet")
        String greet(String who, @Arg(defaultValue = "\"Hello\"") String greeting);
    }

    static class GreeterTasks implements Greeter {
        @Override
        public String greet(String who, String greeting) {
            return greeting + ", " + who;
        }
    }

    static class TwiceDeclared implements Greeter {
        @Task(name = "g.greet_again")
        @Override
        public String greet(String who, String greeting) {
            return greeting;
        }
    }

    static class ArgOnImplementation implements Greeter {
        @Override
        public String greet(String who, @Arg(name = "g") String greeting) {
            return greeting;
        }
    }
}
