package io.celeriac;

import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.OutboundMessage;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Decides when the messages of an app's sends reach the broker: at once (what happens with no interceptor), once
 * the caller's database transaction has committed, or by way of an outbox table written in that transaction and
 * relayed later. Celery answers the same question with Django's {@code transaction.on_commit} and
 * {@code delay_on_commit}. The Spring Boot starter adds one for every app it builds
 * ({@code celeriac.send-after-commit}, {@code celeriac.outbox.enabled}); celeriac-jdbc's {@code JdbcOutbox} offers
 * one for plain JDBC.
 *
 * <pre>{@code
 * Celeriac app = Celeriac.builder().config(config).sendInterceptor(send -> {
 *     if (inTransaction()) {
 *         runAfterCommit(send::proceed);   // held until the commit; dropped on rollback
 *     } else {
 *         send.proceed();
 *     }
 * }).build();
 * }</pre>
 *
 * <p>It is called for every send of the app ({@code delay}, {@code applyAsync}, {@code sendAll}, signatures and
 * canvases) on the sender's thread, once the messages are built (task ids chosen, arguments converted, a chord's size
 * stored in the result backend) and before anything is published, so the sender gets its {@code AsyncResult} with
 * the task id whatever the interceptor does. It is not called in eager mode ({@code task_always_eager}), for what
 * workers publish themselves (retries, a workflow's next steps, a chord's body), nor for sends made inside
 * {@link Celeriac#sendNow}.
 *
 * <p>The contract: {@link Send#proceed()} publishes through the interceptors added after this one and then to the
 * broker, following the app's publish retry policy. Call it at most once, now or later and on any thread; or never,
 * to drop the send; or hand the messages to something that publishes them itself (an outbox), honouring
 * {@link Send#onceKey()}. What {@code intercept} throws reaches the sender, and nothing was published unless the
 * interceptor published it; what a later {@code proceed()} throws reaches whoever called it. Interceptors run in the
 * order they were added to the builder. Implementations must be thread-safe: every thread that sends calls them.
 */
@FunctionalInterface
public interface SendInterceptor {
    void intercept(Send send);

    /** One send on its way to the broker: one message, or a batch ({@code sendAll}, a group, a canvas's first steps). */
    interface Send {
        /** The messages, in the order they are to be published, each with its task id. */
        List<OutboundMessage> messages();

        /**
         * For a unique task, the key its message must be published under
         * ({@link io.celeriac.broker.OnceDispatch#publishOnce}), so that it is dropped while a task with its id is
         * pending or running and the worker that runs it releases the key; the send has that one message. Empty for
         * other sends.
         */
        Optional<String> onceKey();

        /** How long a unique task's key is held at most, should its task be lost; see {@link #onceKey()}. */
        Duration onceKeep();

        /**
         * Publishes the send now, through the interceptors after this one, then to the broker. A unique task found
         * pending is dropped, as without interceptors (and logged), which is not an error.
         *
         * @throws BrokerUnavailableException if the broker did not take it, once the app's publish retry policy
         *     gave up; the messages may still have reached it
         * @throws IllegalStateException if called a second time
         */
        void proceed();
    }
}
