package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.jdbc.JdbcOutbox;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code celeriac.outbox.enabled}: a send in a transaction on the application's DataSource (H2 here) is a row of the
 * outbox in that transaction, and the relay the context runs publishes it after the commit.
 */
class OutboxStarterTest {
    // The relay polls once a minute: a message that goes out within seconds of its commit was woken by it.
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CeleriacAutoConfiguration.class))
            .withPropertyValues("celeriac.broker-url=memory://", "celeriac.result-backend=memory://",
                    "celeriac.outbox.enabled=true", "celeriac.outbox.relay.poll-interval=1m")
            .withUserConfiguration(SendAfterCommitTest.Database.class);

    private static TransactionTemplate tx(ApplicationContext ctx) {
        return new TransactionTemplate(ctx.getBean(PlatformTransactionManager.class));
    }

    @Test
    void aCommittedSendIsARowUntilTheRelayPublishesIt() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            JdbcOutbox outbox = ctx.getBean(JdbcOutbox.class);
            String id = tx(ctx).execute(status -> {
                String sent = app.delay("orders.send_invoice_email", 1).id();
                assertThat(outbox.pending()).as("seen outside the transaction").isZero();
                return sent;
            });

            await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().queueLength("celery") == 1);
            assertThat(app.codec().decode(app.broker().reserve(java.util.List.of("celery"), 1, Duration.ofSeconds(1))
                    .get(0).message()).id()).isEqualTo(id);
            assertThat(outbox.pending()).isZero();

            MeterRegistry registry = new SimpleMeterRegistry();
            ctx.getBeansOfType(MeterBinder.class).values().forEach(b -> b.bindTo(registry));
            assertThat(registry.get("celeriac.outbox.written").functionCounter().count()).isEqualTo(1);
            assertThat(registry.get("celeriac.outbox.relayed").tag("outcome", "published").functionCounter().count())
                    .isEqualTo(1);
            assertThat(registry.get("celeriac.outbox.pending").gauge().value()).isZero();
        });
    }

    @Test
    void aRolledBackSendLeavesNoRowAndSendsNothing() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            tx(ctx).executeWithoutResult(status -> {
                app.delay("orders.send_invoice_email", 1);
                status.setRollbackOnly();
            });

            assertThat(ctx.getBean(JdbcOutbox.class).pending()).isZero();
            ctx.getBean(OutboxRelayLifecycle.class).relay().relayBatch();
            assertThat(app.broker().queueLength("celery")).isZero();
        });
    }

    @Test
    void aSendOutsideATransactionGoesOutAtOnce() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            app.delay("orders.send_invoice_email", 1);
            assertThat(app.broker().queueLength("celery")).isEqualTo(1);
            assertThat(ctx.getBean(JdbcOutbox.class).pending()).isZero();
        });
    }

    @Test
    void withoutARelayHereTheRowWaitsForOneElsewhere() {
        runner.withPropertyValues("celeriac.outbox.relay.enabled=false").run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            assertThat(ctx).doesNotHaveBean(OutboxRelayLifecycle.class);
            tx(ctx).executeWithoutResult(status -> app.delay("orders.send_invoice_email", 1));

            assertThat(ctx.getBean(JdbcOutbox.class).pending()).isEqualTo(1);
            assertThat(app.broker().queueLength("celery")).isZero();
        });
    }

    @Test
    void theOutboxNeedsTheApplicationsDataSource() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(CeleriacAutoConfiguration.class))
                .withPropertyValues("celeriac.broker-url=memory://", "celeriac.outbox.enabled=true")
                .run(ctx -> assertThat(ctx).hasFailed().getFailure().rootCause()
                        .hasMessageContaining("celeriac.outbox.enabled needs the application's DataSource"));
    }
}
