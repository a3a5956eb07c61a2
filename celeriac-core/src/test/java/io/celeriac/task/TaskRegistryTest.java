package io.celeriac.task;

import io.celeriac.fixtures.TestTasks;
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
}
