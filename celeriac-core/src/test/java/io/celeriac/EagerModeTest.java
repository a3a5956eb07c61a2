package io.celeriac;

import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.TaskFailedException;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EagerModeTest {
    @BeforeEach
    void reset() {
        TestTasks.reset();
    }

    @Test
    void alwaysEagerRunsInTheCallersThreadWithoutABroker() {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new TestTasks()).build();
        AsyncResult r = app.task("t.add").delay(20, 22);
        assertThat(r.state()).isEqualTo(TaskState.SUCCESS);
        assertThat(r.get(Duration.ZERO)).isEqualTo(42);
        assertThat(app.broker().queueLength("celery")).isZero();
    }

    @Test
    void eagerRetriesRunAgainAtOnce() {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new TestTasks()).build();
        assertThat(app.task("t.flaky").delay(2).get(Duration.ZERO)).isEqualTo("ok after 2 retries");
    }

    @Test
    void eagerFailuresAreStoredOrPropagated() {
        Celeriac stored = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new TestTasks()).build();
        AsyncResult r = stored.task("t.boom").delay("x");
        assertThat(r.failed()).isTrue();
        assertThatThrownBy(() -> r.get(Duration.ZERO)).isInstanceOf(TaskFailedException.class);

        Celeriac propagating = Celeriac.builder()
                .config(CeleriacConfig.builder().alwaysEager(true).eagerPropagates(true).build())
                .register(new TestTasks()).build();
        assertThatThrownBy(() -> propagating.task("t.boom").delay("y"))
                .isInstanceOf(IllegalStateException.class).hasMessage("y");
    }

    /** A task that returns nothing still calls its callback, with None (null) as the argument, as Celery does. */
    @Test
    void eagerCallbackOfATaskThatReturnsNothingGetsNone() {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().alwaysEager(true).build())
                .register(new TestTasks()).build();
        AsyncResult r = app.send(app.signature("t.limited").link(app.signature("t.block")));
        assertThat(r.state()).isEqualTo(TaskState.SUCCESS);
        assertThat(TestTasks.CALLS.get("t.block")).hasValue(1);
    }
}
