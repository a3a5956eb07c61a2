package io.celeriac.worker;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.celeriac.Celeriac;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/** One line per task received / succeeded / failed / retried, shaped as Celery prints them. */
class TaskLogTest {
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
    private final InMemoryBroker broker = new InMemoryBroker();
    private Worker worker;

    @BeforeEach
    void attach() {
        TestTasks.reset();
        appender.start();
        ((Logger) LoggerFactory.getLogger("celeriac.app.trace")).addAppender(appender);
        ((Logger) LoggerFactory.getLogger("celeriac.worker")).addAppender(appender);
    }

    @AfterEach
    void detach() {
        ((Logger) LoggerFactory.getLogger("celeriac.app.trace")).detachAppender(appender);
        ((Logger) LoggerFactory.getLogger("celeriac.worker")).detachAppender(appender);
        worker.shutdownNow();
        broker.close();
    }

    private List<String> lines() {
        return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void receivedSucceededFailedRetried() {
        Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks()).build();
        worker = app.worker().start();
        AsyncResult ok = app.task("t.add").delay(2, 3);
        AsyncResult bad = app.task("t.boom").delay("kaput");
        AsyncResult flaky = app.task("t.flaky").delay(1);
        ok.get(Duration.ofSeconds(10));
        catchThrowable(() -> bad.get(Duration.ofSeconds(10)));
        flaky.get(Duration.ofSeconds(10));

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(lines())
                .contains("Task t.add[" + ok.id() + "] received")
                .anyMatch(l -> l.matches("Task t\\.add\\[" + ok.id() + "] succeeded in [0-9.]+s: 5"))
                .contains("Task t.boom[" + bad.id() + "] raised unexpected: IllegalStateException('kaput')")
                .anyMatch(l -> l.matches("Task t\\.flaky\\[" + flaky.id()
                        + "] retry: Retry in [0-9.]+s: FlakyError\\('attempt 1'\\)")));
    }
}
