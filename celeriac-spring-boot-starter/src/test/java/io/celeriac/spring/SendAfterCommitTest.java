package io.celeriac.spring;

import io.celeriac.Celeriac;
import io.celeriac.broker.Delivery;
import io.celeriac.task.AsyncResult;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import javax.sql.DataSource;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code celeriac.send-after-commit}: sends in a Spring transaction (a {@link DataSourceTransactionManager} on H2) go
 * out after its commit, not before, and never after a rollback; outside a transaction, and with the property off or
 * through {@code sendNow}, at once.
 */
class SendAfterCommitTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(CeleriacAutoConfiguration.class))
            .withPropertyValues("celeriac.broker-url=memory://", "celeriac.result-backend=memory://")
            .withUserConfiguration(Database.class);

    /** What an application with a database has: a DataSource and its transaction manager. */
    @Configuration(proxyBeanMethods = false)
    static class Database {
        @Bean
        DataSource dataSource() {
            JdbcDataSource ds = new JdbcDataSource();
            ds.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
            return ds;
        }

        @Bean
        PlatformTransactionManager transactionManager(DataSource dataSource) {
            return new DataSourceTransactionManager(dataSource);
        }
    }

    private static TransactionTemplate tx(ApplicationContext ctx) {
        return new TransactionTemplate(ctx.getBean(PlatformTransactionManager.class));
    }

    /** The ids of the messages waiting on queue celery, in order. */
    private static List<String> queued(Celeriac app) {
        List<String> ids = new ArrayList<>();
        try {
            for (Delivery d : app.broker().reserve(List.of("celery"), 100, Duration.ofMillis(50))) {
                ids.add(app.codec().decode(d.message()).id());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return ids;
    }

    private static double counted(ApplicationContext ctx, String outcome) {
        MeterRegistry registry = new SimpleMeterRegistry();
        ctx.getBeansOfType(MeterBinder.class).values().forEach(b -> b.bindTo(registry));
        return registry.get("celeriac.sends.after.commit").tag("outcome", outcome).functionCounter().count();
    }

    @Test
    void aSendInATransactionGoesOutAfterTheCommitWithTheIdItWasGivenAtOnce() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            List<String> ids = tx(ctx).execute(status -> {
                AsyncResult first = app.delay("orders.send_invoice_email", 1);
                AsyncResult second = app.delay("orders.render_pdf", 1);
                assertThat(app.broker().queueLength("celery")).as("queued before the commit").isZero();
                return List.of(first.id(), second.id());
            });

            assertThat(queued(app)).containsExactlyElementsOf(ids);
            assertThat(counted(ctx, "published")).isEqualTo(2);
        });
    }

    @Test
    void aSendInATransactionThatRollsBackIsDropped() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            String id = tx(ctx).execute(status -> {
                String sent = app.delay("orders.send_invoice_email", 1).id();
                status.setRollbackOnly();
                return sent;
            });

            assertThat(id).isNotBlank();
            assertThat(app.broker().queueLength("celery")).isZero();
            assertThat(counted(ctx, "dropped")).isEqualTo(1);
        });
    }

    @Test
    void aSendOutsideATransactionGoesOutAtOnce() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            app.delay("orders.send_invoice_email", 1);
            assertThat(app.broker().queueLength("celery")).isEqualTo(1);
        });
    }

    @Test
    void sendNowGoesOutAtOnceInsideATransaction() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            tx(ctx).executeWithoutResult(status -> {
                app.sendNow(() -> app.delay("audit.order_started", 1));
                assertThat(app.broker().queueLength("celery")).isEqualTo(1);
                status.setRollbackOnly();
            });
            assertThat(app.broker().queueLength("celery")).isEqualTo(1);
        });
    }

    @Test
    void withThePropertyOffSendsInATransactionGoOutAtOnce() {
        runner.withPropertyValues("celeriac.send-after-commit=false").run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            assertThat(ctx).doesNotHaveBean(AfterCommitSends.class);
            tx(ctx).executeWithoutResult(status -> {
                app.delay("orders.send_invoice_email", 1);
                assertThat(app.broker().queueLength("celery")).isEqualTo(1);
            });
        });
    }

    @Test
    void anInnerTransactionOfItsOwnSendsOnItsCommitWhateverTheOuterOneDoes() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            TransactionTemplate requiresNew = tx(ctx);
            requiresNew.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
            String[] ids = new String[2];
            tx(ctx).executeWithoutResult(outer -> {
                ids[0] = app.delay("orders.send_invoice_email", 1).id();
                requiresNew.executeWithoutResult(inner -> ids[1] = app.delay("audit.order_attempted", 1).id());
                assertThat(queued(app)).as("the inner transaction's send, on its commit").containsExactly(ids[1]);
                outer.setRollbackOnly();
            });
            assertThat(queued(app)).as("the outer one's, rolled back").isEmpty();
        });
    }

    @Test
    void aSendMadeByAnotherSynchronizationAfterTheCommitGoesOutToo() {
        runner.run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            String[] id = new String[1];
            tx(ctx).executeWithoutResult(status -> TransactionSynchronizationManager.registerSynchronization(
                    new TransactionSynchronization() {
                        @Override
                        public void afterCommit() {
                            // As a @TransactionalEventListener(AFTER_COMMIT) would: the transaction is still
                            // active here, and a synchronization registered now gets no afterCommit of its own.
                            id[0] = app.delay("orders.send_invoice_email", 1).id();
                        }
                    }));
            assertThat(queued(app)).containsExactly(id[0]);
        });
    }

    @Test
    void aBrokerOutOfReachAfterTheCommitIsLoggedAndCountedWithoutFailingTheCommit() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        runner.withPropertyValues("celeriac.broker-url=redis://127.0.0.1:" + closedPort + "/0").run(ctx -> {
            Celeriac app = ctx.getBean(Celeriac.class);
            Boolean committed = tx(ctx).execute(status -> {
                app.delay("orders.send_invoice_email", 1);
                return true;
            });
            assertThat(committed).isTrue();
            assertThat(counted(ctx, "failed")).isEqualTo(1);
            assertThat(counted(ctx, "published")).isZero();
        });
    }
}
