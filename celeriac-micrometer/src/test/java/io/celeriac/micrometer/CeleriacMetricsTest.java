package io.celeriac.micrometer;

import io.celeriac.Celeriac;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.worker.Worker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

class CeleriacMetricsTest {
    @Test
    void countsTimesAndGauges() {
        TestTasks.reset();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (InMemoryBroker broker = new InMemoryBroker()) {
            Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks()).build();
            CeleriacMetrics.bindQueues(registry, broker, List.of("celery"));
            app.task("t.add").delay(0, 0); // waits in the queue before the worker starts
            assertThat(registry.get("celeriac.queue.length").tag("queue", "celery").gauge().value()).isEqualTo(1);
            Worker worker = app.worker().hostname("m@test").concurrency(3).listener(new CeleriacMetrics(registry))
                    .start();
            AsyncResult ok = app.task("t.add").delay(1, 2);
            AsyncResult bad = app.task("t.boom").delay("x");
            AsyncResult flaky = app.task("t.flaky").delay(1);
            ok.get(Duration.ofSeconds(10));
            catchThrowable(() -> bad.get(Duration.ofSeconds(10)));
            flaky.get(Duration.ofSeconds(10));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(registry.get("celeriac.tasks").tags("task", "t.add", "state", "succeeded").counter()
                        .count()).isEqualTo(2);
                assertThat(registry.get("celeriac.tasks").tags("task", "t.boom", "state", "failed").counter()
                        .count()).isEqualTo(1);
                assertThat(registry.get("celeriac.tasks").tags("task", "t.flaky", "state", "retried").counter()
                        .count()).isEqualTo(1);
            });
            assertThat(registry.get("celeriac.task.runtime").tags("task", "t.add", "state", "succeeded").timer()
                    .count()).isEqualTo(2);
            assertThat(registry.get("celeriac.worker.concurrency").tag("worker", "m@test").gauge().value())
                    .isEqualTo(3);
            assertThat(registry.get("celeriac.queue.length").tag("queue", "celery").gauge().value()).isZero();
            worker.shutdown(Duration.ofSeconds(5));
        }
    }
}
