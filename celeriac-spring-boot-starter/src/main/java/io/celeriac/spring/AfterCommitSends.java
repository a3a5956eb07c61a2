package io.celeriac.spring;

import io.celeriac.SendInterceptor;
import io.celeriac.broker.OutboundMessage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code celeriac.send-after-commit} (on by default): a send made while a Spring transaction is active is held until
 * the transaction commits ({@link TransactionSynchronization#afterCommit}) and dropped if it rolls back, so a task
 * never runs before the rows it refers to are committed, nor for rows that never were. The sender gets its
 * {@code AsyncResult}, with the task id, at once. Outside a transaction a send goes out at once.
 *
 * <p>A send that fails after the commit (the broker is out of reach beyond the publish retry policy) cannot fail the
 * transaction any more: it is logged at ERROR with its tasks and ids, counted ({@code celeriac.sends.after.commit},
 * {@code outcome=failed}), and lost. The outbox ({@code celeriac.outbox.enabled}) closes that gap: it writes the send
 * in the transaction and relays it until the broker takes it.
 *
 * <p>The sends of one transaction go out in the order they were made, on the thread that commits, which waits for
 * them. Sends made by other synchronizations' {@code afterCommit} callbacks go out too (once the commit is
 * complete); sends made after the transaction completed go out at once.
 */
final class AfterCommitSends implements SendInterceptor, MeterBinder, Ordered {
    private static final Logger log = LoggerFactory.getLogger(AfterCommitSends.class);
    /** After the outbox's interceptor, which hands on what it does not write to the outbox. */
    static final int ORDER = 200;

    private final AtomicLong published = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();

    @Override
    public void intercept(Send send) {
        if (!TransactionSynchronizationManager.isSynchronizationActive()
                || !TransactionSynchronizationManager.isActualTransactionActive()) {
            send.proceed();
            return;
        }
        held().sends.add(send);
    }

    /** This transaction's held sends: found among its synchronizations, or registered with it now. */
    private Held held() {
        for (TransactionSynchronization s : TransactionSynchronizationManager.getSynchronizations()) {
            if (s instanceof Held h && h.owner() == this) {
                return h;
            }
        }
        Held h = new Held();
        TransactionSynchronizationManager.registerSynchronization(h);
        return h;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "published", published, "sent after their transaction committed");
        counter(registry, "failed", failed, "not sent: the broker failed after their transaction committed");
        counter(registry, "dropped", dropped, "not sent: their transaction rolled back");
    }

    private static void counter(MeterRegistry registry, String outcome, AtomicLong value, String description) {
        FunctionCounter.builder("celeriac.sends.after.commit", value, AtomicLong::doubleValue)
                .tag("outcome", outcome).description("Messages held until their transaction ended: " + description)
                .baseUnit("messages").register(registry);
    }

    @Override
    public int getOrder() {
        return ORDER;
    }

    /** Tasks and ids of a send, for log lines: {@code orders.send_invoice_email[order-A-1001-email]}. */
    static String describe(Send send) {
        return String.join(", ", send.messages().stream().map(AfterCommitSends::describe).toList());
    }

    private static String describe(OutboundMessage m) {
        return m.message().headers().get("task") + "[" + m.taskId() + "]";
    }

    /**
     * The sends of one transaction, in order. Only the transaction's own thread touches them: Spring binds a
     * transaction, and its synchronizations, to one thread.
     */
    private final class Held implements TransactionSynchronization {
        private final Deque<Send> sends = new ArrayDeque<>();

        AfterCommitSends owner() {
            return AfterCommitSends.this;
        }

        @Override
        public void afterCommit() {
            publishAll();
        }

        @Override
        public void afterCompletion(int status) {
            if (status == STATUS_COMMITTED) {
                // Sends that other synchronizations made in their afterCommit, after this one's had run.
                publishAll();
                return;
            }
            int n = sends.stream().mapToInt(s -> s.messages().size()).sum();
            if (n == 0) {
                return;
            }
            dropped.addAndGet(n);
            if (status == STATUS_ROLLED_BACK) {
                log.debug("Transaction rolled back: dropped the send of {}", describeAll());
            } else {
                log.warn("Transaction ended with an unknown outcome (the commit may or may not have happened): "
                        + "dropped the send of {}; send them again if the transaction's changes are there",
                        describeAll());
            }
            sends.clear();
        }

        private String describeAll() {
            return String.join(", ", sends.stream().map(AfterCommitSends::describe).toList());
        }

        private void publishAll() {
            Send s;
            while ((s = sends.pollFirst()) != null) {
                List<OutboundMessage> messages = s.messages();
                try {
                    s.proceed();
                    published.addAndGet(messages.size());
                } catch (RuntimeException e) {
                    // why not rethrow: the transaction is committed; failing the caller now would only say its
                    // work was lost when it was not, and stop the sends after this one.
                    failed.addAndGet(messages.size());
                    log.error("Transaction committed, but sending {} failed: {}. These tasks will not run unless "
                            + "sent again (celeriac.outbox.enabled writes sends in the transaction and relays them "
                            + "until the broker takes them)", describe(s), e.getMessage(), e);
                }
            }
        }
    }
}
