package io.celeriac.spring;

import io.celeriac.SendInterceptor;
import io.celeriac.jdbc.JdbcOutbox;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jspecify.annotations.Nullable;
import org.springframework.core.Ordered;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import javax.sql.DataSource;
import java.sql.Connection;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code celeriac.outbox.enabled}: a send made in a Spring transaction that holds the outbox's {@link DataSource} is
 * written to the outbox on the transaction's own connection ({@link DataSourceUtils}), so it commits or rolls back
 * with the application's rows, and the relay publishes it; after the commit the relay of this application is woken.
 * Any other send is handed on: to {@link AfterCommitSends} if it is on (a transaction of another resource), else out
 * at once.
 */
final class OutboxSends implements SendInterceptor, MeterBinder, Ordered {
    static final int ORDER = 100;

    private final JdbcOutbox outbox;
    private final AtomicLong written = new AtomicLong();
    private volatile @Nullable Runnable afterCommit;

    OutboxSends(JdbcOutbox outbox) {
        this.outbox = outbox;
    }

    /** What to run after a commit that wrote to the outbox: the local relay's wake-up. */
    void afterCommit(@Nullable Runnable r) {
        this.afterCommit = r;
    }

    @Override
    public void intercept(Send send) {
        DataSource ds = outbox.dataSource();
        if (!TransactionSynchronizationManager.isSynchronizationActive()
                || !TransactionSynchronizationManager.isActualTransactionActive()
                || TransactionSynchronizationManager.getResource(ds) == null) {
            send.proceed();
            return;
        }
        Connection c = DataSourceUtils.getConnection(ds);
        try {
            outbox.write(c, send);
        } finally {
            DataSourceUtils.releaseConnection(c, ds);
        }
        written.addAndGet(send.messages().size());
        if (afterCommit != null && TransactionSynchronizationManager.getSynchronizations().stream()
                .noneMatch(s -> s instanceof Wake w && w.owner() == this)) {
            TransactionSynchronizationManager.registerSynchronization(new Wake());
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder("celeriac.outbox.written", written, AtomicLong::doubleValue)
                .description("Messages written to the outbox in the application's transactions")
                .baseUnit("messages").register(registry);
        Gauge.builder("celeriac.outbox.pending", outbox, OutboxSends::pending)
                .description("Rows in the outbox waiting for a relay").baseUnit("messages").register(registry);
    }

    /** Read from the table when the gauge is read; NaN while the database cannot say. */
    private static double pending(JdbcOutbox outbox) {
        try {
            return outbox.pending();
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    /** Wakes the relay once the transaction that wrote to the outbox committed: its rows are visible now. */
    private final class Wake implements TransactionSynchronization {
        OutboxSends owner() {
            return OutboxSends.this;
        }

        @Override
        public void afterCommit() {
            Runnable r = afterCommit;
            if (r != null) {
                r.run();
            }
        }
    }
}
