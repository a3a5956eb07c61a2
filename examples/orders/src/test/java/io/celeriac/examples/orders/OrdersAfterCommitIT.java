package io.celeriac.examples.orders;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;

import static org.assertj.core.api.Assertions.assertThat;

/** The shop as configured by default: sends made in a transaction are held in memory until it commits. */
@SpringBootTest(classes = OrdersApplication.class, properties = {"celeriac.worker.enabled=true",
        "celeriac.worker.queues=email,render,celery", "celeriac.worker.hostname=orders@aftercommit",
        "celeriac.worker.shutdown-grace=2s", "orders.mail.failure-rate=0"})
@Import(ReceivedTasks.class)
@DirtiesContext
class OrdersAfterCommitIT extends TransactionalOrdersContract {
    @Autowired
    MeterRegistry meters;

    private double counted(String outcome) {
        return meters.get("celeriac.sends.after.commit").tag("outcome", outcome).functionCounter().count();
    }

    @Override
    void afterCommit() {
        assertThat(counted("published")).isGreaterThanOrEqualTo(2);
    }

    @Override
    void afterRollback() {
        assertThat(counted("dropped")).isGreaterThanOrEqualTo(2);
    }
}
